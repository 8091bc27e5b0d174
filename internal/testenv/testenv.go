// Package testenv gives tests the real control-plane binaries built by
// `make build`, and control planes started from them.
package testenv

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
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

// credentialPatterns are what a leaked credential looks like in a log or a
// results file: a PEM private key, a bearer token in a header, a JWT (a
// service-account token).
var credentialPatterns = []*regexp.Regexp{
	regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----`),
	regexp.MustCompile(`(?i)bearer [A-Za-z0-9._~+/-]{16,}`),
	regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.`),
}

// CheckNoCredentials fails the test if a credential appears in the *.log
// files under runDir or in any file under resultsDir (when not empty): the
// patterns above, or the body of any private key in runDir/pki, which would
// betray a key printed without its PEM header.
func CheckNoCredentials(t testing.TB, runDir, resultsDir string) {
	t.Helper()
	secrets := keyBodies(t, filepath.Join(runDir, "pki"))
	if len(secrets) == 0 {
		t.Fatalf("no private keys in %s to look for", filepath.Join(runDir, "pki"))
	}
	scan := func(path string) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("reading %s: %v", path, err)
			return
		}
		for _, p := range credentialPatterns {
			if loc := p.FindIndex(data); loc != nil {
				t.Errorf("%s holds a credential (%s) at byte %d", path, p, loc[0])
			}
		}
		for key, body := range secrets {
			if bytes.Contains(data, body) {
				t.Errorf("%s holds the private key %s", path, key)
			}
		}
	}
	walkFiles(t, runDir, func(path string) bool { return strings.HasSuffix(path, ".log") }, scan)
	if resultsDir != "" {
		walkFiles(t, resultsDir, func(string) bool { return true }, scan)
	}
}

// keyBodies returns the first line of base64 of each private key in dir, by
// file name: it holds key material, and a line is what a log would carry.
func keyBodies(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	keys, err := filepath.Glob(filepath.Join(dir, "*.key"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, k := range keys {
		data, err := os.ReadFile(k)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(data), "\n")
		if len(lines) < 3 || !strings.HasPrefix(lines[0], "-----BEGIN") || len(lines[1]) < 32 {
			t.Fatalf("%s is not a PEM key", k)
		}
		out[filepath.Base(k)] = []byte(lines[1])
	}
	return out
}

func walkFiles(t testing.TB, root string, match func(string) bool, fn func(string)) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && match(path) {
			n++
			fn(path)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walking %s: %v", root, err)
	}
	if n == 0 {
		t.Fatalf("no files to check under %s", root)
	}
}
