package controlplane_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hollowmark/hollowmark/controlplane"
	"github.com/hollowmark/hollowmark/controlplane/pki"
)

// fakeBinDir makes a bin directory whose etcd runs script and whose other
// components are never reached.
func fakeBinDir(t *testing.T, etcdScript string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{controlplane.Etcd, controlplane.APIServer, controlplane.Scheduler, controlplane.ControllerManager} {
		script := "#!/bin/sh\nexit 0\n"
		if name == controlplane.Etcd {
			script = "#!/bin/sh\n" + etcdScript
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestMissingBinarySaysHowToGetIt(t *testing.T) {
	_, err := controlplane.Start(context.Background(), controlplane.Options{RunDir: t.TempDir(), BinDir: t.TempDir()})
	if err == nil {
		t.Fatal("started without binaries")
	}
	for _, want := range []string{"etcd not found", "make build", "--control-plane-bin-dir"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestComponentExitingEarlyShowsItsLog(t *testing.T) {
	bin := fakeBinDir(t, `case "$1" in --version) echo "etcd Version: fake"; exit 0;; esac
echo "starting up"
echo "fatal: disk on fire"
exit 3
`)
	_, err := controlplane.Start(context.Background(), controlplane.Options{RunDir: t.TempDir(), BinDir: bin})
	if err == nil {
		t.Fatal("start succeeded with a failing etcd")
	}
	for _, want := range []string{"etcd exited early", "exit status 3", "fatal: disk on fire"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// hangingEtcd never becomes healthy and records its PID, so the test can
// check that it was stopped.
func hangingEtcd(t *testing.T) (binDir, pidFile string) {
	pidFile = filepath.Join(t.TempDir(), "etcd.pid")
	return fakeBinDir(t, fmt.Sprintf(`case "$1" in --version) exit 0;; esac
echo $$ > %s
exec sleep 600
`, pidFile)), pidFile
}

func TestReadinessTimeoutStopsTheComponent(t *testing.T) {
	bin, pidFile := hangingEtcd(t)
	opts := controlplane.Options{RunDir: t.TempDir(), BinDir: bin, ReadyTimeout: time.Second, StopGrace: time.Second}
	_, err := controlplane.Start(context.Background(), opts)
	if err == nil || !strings.Contains(err.Error(), "etcd not ready after 1s") {
		t.Fatalf("got %v, want a readiness timeout", err)
	}
	requireGone(t, readPID(t, pidFile))
}

func TestCancelDuringStartStopsWhatWasStarted(t *testing.T) {
	bin, pidFile := hangingEtcd(t)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for {
			if _, err := os.Stat(pidFile); err == nil {
				cancel()
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	_, err := controlplane.Start(ctx, controlplane.Options{RunDir: t.TempDir(), BinDir: bin, StopGrace: time.Second})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	requireGone(t, readPID(t, pidFile))
}

func readPID(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func requireGone(t *testing.T, pid int) {
	t.Helper()
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("process %d still exists after Start failed (kill -0: %v)", pid, err)
	}
}

func TestAttachToUnreachableServerNamesAddress(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ca, err := pki.NewAuthority("test")
	if err != nil {
		t.Fatal(err)
	}
	pair, err := ca.IssueClient("someone")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := controlplane.WriteKubeconfig(path, "https://"+addr, ca.CertPEM, "someone", pair); err != nil {
		t.Fatal(err)
	}
	_, err = controlplane.Attach(context.Background(), path)
	if err == nil {
		t.Fatal("attached to nothing")
	}
	for _, want := range []string{addr, "unreachable", "connection refused"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestAttachWithMissingKubeconfig(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	_, err := controlplane.Attach(context.Background(), missing)
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("got %v, want an error naming %s", err, missing)
	}
}
