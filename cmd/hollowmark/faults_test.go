package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hollowmark/hollowmark/controlplane"
	"github.com/hollowmark/hollowmark/internal/testenv"
	"github.com/hollowmark/hollowmark/results"
)

// child is hollowmark running in the background, its terminal (stdout and
// stderr together) collected.
type child struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  strings.Builder
	done chan struct{} // closed when the terminal output ends
}

func startHollowmark(t *testing.T, args ...string) *child {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: exec.Command(filepath.Join(testenv.BinDir(t), "hollowmark"), args...), done: make(chan struct{})}
	c.cmd.Stdout, c.cmd.Stderr = w, w
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	t.Cleanup(func() { c.cmd.Process.Kill() })
	go func() {
		defer close(c.done)
		buf := make([]byte, 4096)
		for {
			n, err := r.Read(buf)
			c.mu.Lock()
			c.out.Write(buf[:n])
			c.mu.Unlock()
			if err != nil {
				r.Close()
				return
			}
		}
	}()
	return c
}

func (c *child) output() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.String()
}

// waitFor returns once the terminal shows text, and fails the test if
// hollowmark ends or timeout passes first.
func (c *child) waitFor(t *testing.T, text string, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for !strings.Contains(c.output(), text) {
		select {
		case <-c.done:
			t.Fatalf("hollowmark ended before printing %q:\n%s", text, c.output())
		case <-deadline:
			t.Fatalf("hollowmark printed no %q within %s:\n%s", text, timeout, c.output())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// wait waits for hollowmark to exit and returns its exit code and terminal.
func (c *child) wait(t *testing.T, timeout time.Duration) (code int, out string) {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(timeout):
		t.Fatalf("hollowmark still running after %s:\n%s", timeout, c.output())
	}
	c.cmd.Wait()
	return c.cmd.ProcessState.ExitCode(), c.output()
}

func componentPID(t *testing.T, runDir, name string) int {
	t.Helper()
	record, err := controlplane.ReadRecord(runDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range record.Components {
		if c.Name == name {
			return c.PID
		}
	}
	t.Fatalf("no %s in the run record", name)
	return 0
}

// A component killed under hollowmark ends the command at once, with exit
// code 2, naming the component and showing the end of its log, and takes
// the rest of the control plane down with it; a run keeps what it measured.
func TestComponentCrashEndsTheCommand(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		ready string // printed once the cluster is in use
	}{
		{"up", []string{"up", "--etcd-unsafe-no-fsync"}, "press Ctrl-C"},
		// Killed while the latency pods are waited for.
		{"run", append(slices.Clone(smallDensity), "--nodes", "5", "--start-latency", "6s"), "step 8 of 12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runDir, out := t.TempDir(), filepath.Join(t.TempDir(), "results")
			args := append(tt.args, "--run-dir", runDir)
			if tt.name == "run" {
				args = append(args, "--out", out)
			}
			c := startHollowmark(t, args...)
			c.waitFor(t, tt.ready, 4*time.Minute)
			record, err := controlplane.ReadRecord(runDir)
			if err != nil {
				t.Fatal(err)
			}
			if err := syscall.Kill(componentPID(t, runDir, controlplane.APIServer), syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			code, terminal := c.wait(t, 4*time.Minute)
			if code != results.ExitFailed {
				t.Errorf("exit %d, want 2", code)
			}
			for _, want := range []string{"kube-apiserver exited unexpectedly (signal: killed)", "last lines of " + filepath.Join(runDir, "logs", "kube-apiserver.log")} {
				if !strings.Contains(terminal, want) {
					t.Errorf("terminal does not say %q:\n%s", want, terminal)
				}
			}
			for _, comp := range record.Components {
				waitGone(t, comp.Name, comp.PID)
			}
			if tt.name != "run" {
				return
			}
			run, err := results.ReadRun(out)
			if err != nil {
				t.Fatalf("no results after the crash: %v", err)
			}
			if !run.Partial || !strings.Contains(run.Error, "kube-apiserver exited unexpectedly") {
				t.Errorf("run not marked partial for the crash: partial %v, error %q", run.Partial, run.Error)
			}
		})
	}
}

// restartScenario waits for pods while the API server is killed. It leaves
// out APIResponsiveness: the API server's latency histograms start again
// from zero when it restarts, which that measurement refuses to span.
const restartScenario = `name: restart
parameters:
  nodes: 1
namespaces: {count: 1, prefix: restart}
tuningSets:
  - name: fast
    qps: 10
steps:
  - name: start measuring pod startup
    measurements:
      - {identifier: PodStartupLatency, method: PodStartupLatency, action: start, params: {labelSelector: group=restart, threshold: 5s}}
  - name: create pods
    phases:
      - namespaceRange: {min: 1, max: 1}
        replicasPerNamespace: 10
        tuningSet: fast
        objects:
          - {basename: restart, template: deployment.yaml}
  - name: wait for pods
    measurements:
      - {identifier: WaitForPods, method: WaitForControlledPodsRunning, action: wait, params: {labelSelector: group=restart, timeout: 5m}}
  - name: gather pod startup
    measurements:
      - {identifier: PodStartupLatency, method: PodStartupLatency, action: gather}
`

const restartDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{.Name}}
  labels: {group: restart}
spec:
  replicas: 1
  selector:
    matchLabels: {name: {{.Name}}}
  template:
    metadata:
      labels: {name: {{.Name}}, group: restart}
    spec:
      containers:
        - {name: pause, image: registry.k8s.io/pause:3.10}
`

// With --restart-crashed-components an API server killed mid-run comes
// back on its port, and the run goes on to a verdict.
func TestRunSurvivesAPIServerRestart(t *testing.T) {
	dir := t.TempDir()
	scenario := filepath.Join(dir, "restart.yaml")
	for name, content := range map[string]string{scenario: restartScenario, filepath.Join(dir, "deployment.yaml"): restartDeployment} {
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	runDir, out := t.TempDir(), filepath.Join(t.TempDir(), "results")
	// Pods take 6 s to start, so the kill lands while they are waited for.
	c := startHollowmark(t, "run", "--scenario", scenario, "--nodes", "3", "--start-latency", "6s", "--etcd-unsafe-no-fsync",
		"--restart-crashed-components", "2", "--run-dir", runDir, "--out", out)
	c.waitFor(t, "step 3 of 4", 4*time.Minute)
	killed := componentPID(t, runDir, controlplane.APIServer)
	if err := syscall.Kill(killed, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	code, terminal := c.wait(t, 8*time.Minute)
	if code == results.ExitFailed {
		t.Fatalf("the run failed after the restart:\n%s", terminal)
	}
	run, err := results.ReadRun(out)
	if err != nil {
		t.Fatal(err)
	}
	if run.Partial || run.Error != "" || len(run.Checks()) == 0 {
		t.Errorf("run partial %v, error %q, %d checks", run.Partial, run.Error, len(run.Checks()))
	}
	if pid := componentPID(t, runDir, controlplane.APIServer); pid == killed {
		t.Errorf("run record still names the killed API server (pid %d)", pid)
	}
	if !strings.Contains(terminal, "component restarted") {
		t.Errorf("terminal does not say the API server was restarted:\n%s", terminal)
	}
}
