package main

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/hollowmark/hollowmark/controlplane"
	"github.com/hollowmark/hollowmark/internal/rundir"
	"github.com/hollowmark/hollowmark/internal/testenv"
)

// runUp starts `hollowmark up` as a child process and waits until it prints
// the kubeconfig to use.
func runUp(t *testing.T, args ...string) (cmd *exec.Cmd, runDir, kubeconfig string) {
	t.Helper()
	runDir = t.TempDir()
	cmd = exec.Command(filepath.Join(testenv.BinDir(t), "hollowmark"), append([]string{"up", "--run-dir", runDir, "--etcd-unsafe-no-fsync"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	found := make(chan string, 1)
	go func() {
		scanner := bufio.NewScanner(stdout)
		for scanner.Scan() {
			if path, ok := strings.CutPrefix(scanner.Text(), "export KUBECONFIG="); ok {
				found <- path
			}
		}
		close(found)
	}()
	select {
	case kubeconfig = <-found:
		if kubeconfig == "" {
			t.Fatalf("hollowmark up ended without printing the kubeconfig; see %s", runDir)
		}
	case <-time.After(3 * time.Minute):
		t.Fatalf("hollowmark up printed no kubeconfig within 3 minutes; see %s", runDir)
	}
	return cmd, runDir, kubeconfig
}

func TestUpServesClusterAndLeavesNothingBehind(t *testing.T) {
	tests := []struct {
		signal   syscall.Signal
		wantExit int
	}{
		{syscall.SIGINT, 0},
		{syscall.SIGTERM, 0},
		// Nothing can be torn down in order here; the kernel's parent-death
		// signal must still take every component with us.
		{syscall.SIGKILL, -1},
	}
	for _, tt := range tests {
		t.Run(tt.signal.String(), func(t *testing.T) {
			cmd, runDir, kubeconfig := runUp(t)
			if want := filepath.Join(runDir, "kubeconfig"); kubeconfig != want {
				t.Errorf("printed KUBECONFIG=%s, want %s", kubeconfig, want)
			}
			listNamespaces(t, kubeconfig)
			record, err := controlplane.ReadRecord(runDir)
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Process.Signal(tt.signal); err != nil {
				t.Fatal(err)
			}
			err = cmd.Wait()
			if code := cmd.ProcessState.ExitCode(); code != tt.wantExit {
				t.Errorf("hollowmark up exited with %d (%v), want %d", code, err, tt.wantExit)
			}
			for _, c := range record.Components {
				waitGone(t, c.Name, c.PID)
			}
			checkStaleMarking(t, runDir, tt.signal == syscall.SIGKILL)
		})
	}
}

// checkStaleMarking starts the next hollowmark beside runDir (one that
// fails at once, on a missing kubeconfig) and checks that it marked runDir
// stale exactly when the hollowmark there was killed.
func checkStaleMarking(t *testing.T, runDir string, killed bool) {
	t.Helper()
	next := filepath.Join(filepath.Dir(runDir), "next-run")
	out, err := exec.Command(filepath.Join(testenv.BinDir(t), "hollowmark"), "nodes", "--count", "1", "--run-dir", next,
		"--kubeconfig", filepath.Join(next, "missing")).CombinedOutput()
	if err == nil {
		t.Fatalf("nodes with a missing kubeconfig succeeded:\n%s", out)
	}
	_, staleErr := os.Stat(filepath.Join(runDir, rundir.StaleFile))
	if marked := staleErr == nil; marked != killed {
		t.Errorf("run directory marked stale: %v, want %v (hollowmark killed: %v)", marked, killed, killed)
	}
	if _, err := os.Stat(filepath.Join(runDir, rundir.OwnerFile)); !os.IsNotExist(err) {
		t.Errorf("owner mark still in the run directory after the next run: %v", err)
	}
	if killed && !strings.Contains(string(out), "marked stale") {
		t.Errorf("the next run did not say it marked a stale run directory:\n%s", out)
	}
}

func listNamespaces(t *testing.T, kubeconfig string) {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := kubernetes.NewForConfigOrDie(cfg).CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatalf("listing namespaces through the printed kubeconfig: %v", err)
	}
	if len(ns.Items) == 0 {
		t.Fatal("no namespaces in a fresh cluster")
	}
}

// waitGone waits for pid to disappear. A zombie counts as gone: it has exited
// and only waits for whoever inherited it to reap it.
func waitGone(t *testing.T, name string, pid int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) || isZombie(pid) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("%s (pid %d) still running after hollowmark exited", name, pid)
	syscall.Kill(pid, syscall.SIGKILL)
}

func isZombie(pid int) bool {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return true
	}
	// The state follows the parenthesised command name.
	_, rest, ok := strings.Cut(string(stat), ") ")
	return ok && strings.HasPrefix(rest, "Z")
}
