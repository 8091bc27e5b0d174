// Package testenv gives tests the real control-plane binaries built by
// `make build`, and control planes started from them.
package testenv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/hollowmark/hollowmark/controlplane"
)

// BinDir returns the directory with the control-plane binaries: the
// HOLLOWMARK_BIN_DIR environment variable, or bin/ at the module root. It
// fails the test, saying what to run, when the binaries are missing.
func BinDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("HOLLOWMARK_BIN_DIR")
	if dir == "" {
		root, err := moduleRoot()
		if err != nil {
			t.Fatalf("finding module root: %v", err)
		}
		dir = filepath.Join(root, "bin")
	}
	for _, name := range []string{controlplane.Etcd, controlplane.APIServer, controlplane.Scheduler, controlplane.ControllerManager, "hollowmark"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Fatalf("%s missing from %s: run `make build` first (or use `make test`)", name, dir)
		}
	}
	return dir
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}

// StartControlPlane starts an embedded control plane in a fresh temporary
// run directory and stops it when the test ends.
func StartControlPlane(t testing.TB, opts controlplane.Options) *controlplane.ControlPlane {
	t.Helper()
	cp, err := start(opts, BinDir(t), t.TempDir())
	if err != nil {
		t.Fatalf("starting control plane: %v", err)
	}
	t.Cleanup(func() {
		if err := cp.Stop(); err != nil {
			t.Errorf("stopping control plane: %v", err)
		}
	})
	return cp
}

// Shared is one control plane shared by the tests of a package that only
// need "a cluster": it starts on first use, and TestMain stops it.
type Shared struct {
	once   sync.Once
	cp     *controlplane.ControlPlane
	runDir string
	err    error
}

// Get returns the shared control plane, starting it on first use.
func (s *Shared) Get(t testing.TB) *controlplane.ControlPlane {
	t.Helper()
	binDir := BinDir(t)
	s.once.Do(func() {
		if s.runDir, s.err = os.MkdirTemp("", "hollowmark-test-"); s.err != nil {
			return
		}
		s.cp, s.err = start(controlplane.Options{}, binDir, s.runDir)
	})
	if s.err != nil {
		t.Fatalf("starting shared control plane: %v", s.err)
	}
	return s.cp
}

// Run is a package's TestMain body: it runs the tests, then stops the shared
// control plane, failing the run if that fails.
func (s *Shared) Run(m *testing.M) int {
	code := m.Run()
	if err := s.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping shared control plane:", err)
		code = 1
	}
	return code
}

// Stop stops the shared control plane if it was started, and removes its
// run directory.
func (s *Shared) Stop() error {
	var err error
	if s.cp != nil {
		err = s.cp.Stop()
	}
	if s.runDir != "" {
		os.RemoveAll(s.runDir)
	}
	return err
}

// start skips fsync in etcd: durability is not under test, and the
// machine's disk is shared.
func start(opts controlplane.Options, binDir, runDir string) (*controlplane.ControlPlane, error) {
	opts.BinDir = binDir
	opts.RunDir = runDir
	opts.EtcdUnsafeNoFsync = true
	return controlplane.Start(context.Background(), opts)
}
