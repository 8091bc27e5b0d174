package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/hollowmark/hollowmark/controlplane"
	"github.com/hollowmark/hollowmark/internal/testenv"
)

func TestParseShard(t *testing.T) {
	host := func(name string) func() (string, error) { return func() (string, error) { return name, nil } }
	tests := []struct {
		value, podName string
		hostname       func() (string, error)
		want           int
		wantErr        string
	}{
		{"3", "", host("x"), 3, ""},
		{"-1", "", host("x"), 0, "want a number >= 0"},
		{"two", "", host("x"), 0, "want a number >= 0"},
		{"ordinal", "hollow-nodes-12", host("worker-1"), 12, ""},
		{"ordinal", "", host("hollow-nodes-4"), 4, ""},
		{"ordinal", "hollow-nodes", host("x"), 0, `$POD_NAME "hollow-nodes" does not end in -<ordinal>`},
		{"ordinal", "", host("worker"), 0, `the host name "worker" does not end`},
		{"ordinal", "", func() (string, error) { return "", errors.New("no uts") }, 0, "no host name"},
	}
	for _, tt := range tests {
		t.Run(tt.value+"/"+tt.podName, func(t *testing.T) {
			got, err := parseShard(tt.value, tt.podName, tt.hostname)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("parseShard = %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}

// `nodes` attaches to a cluster: the flags of starting one (component QPS,
// etcd, binaries, restarts) do not apply and are not offered.
func TestNodesHelpOffersOnlyAttachingFlags(t *testing.T) {
	cmd := newRootCommand(buildInfo{version: "test"})
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"nodes", "--help"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	help := out.String()
	for _, absent := range []string{"--scheduler-qps", "--scheduler-burst", "--controller-manager-qps", "--controller-manager-burst", "--etcd-unsafe-no-fsync", "--control-plane-bin-dir", "--ready-timeout", "--restart-crashed-components"} {
		if strings.Contains(help, absent) {
			t.Errorf("nodes --help offers %s", absent)
		}
	}
	for _, present := range []string{"--kubeconfig", "--shard ", "--shards", "--delete-nodes", "--stop-timeout", "--metrics-url-file", "--fidelity"} {
		if !strings.Contains(help, present) {
			t.Errorf("nodes --help lacks %s", present)
		}
	}
}

// shardProcess is `hollowmark nodes` run as shard i of a StatefulSet would
// run it: --shard ordinal with POD_NAME set.
type shardProcess struct {
	cmd     *exec.Cmd
	urlFile string
}

func startShard(t *testing.T, kubeconfig string, i, shards, count int) *shardProcess {
	t.Helper()
	dir := t.TempDir()
	p := &shardProcess{urlFile: filepath.Join(dir, "url")}
	p.cmd = exec.Command(filepath.Join(testenv.BinDir(t), "hollowmark"), "nodes", "--kubeconfig", kubeconfig,
		"--count", fmt.Sprint(count), "--shards", fmt.Sprint(shards), "--shard", "ordinal", "--name-prefix", "shardproc-",
		"--delete-nodes=false", "--run-dir", dir, "--metrics-url-file", p.urlFile, "--stop-timeout", "20s")
	p.cmd.Env = append(os.Environ(), fmt.Sprintf("POD_NAME=hollow-nodes-%d", i))
	p.cmd.Stdout, p.cmd.Stderr = &bytes.Buffer{}, &bytes.Buffer{}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
	})
	return p
}

func (p *shardProcess) ready() bool {
	url, err := os.ReadFile(p.urlFile)
	if err != nil {
		return false
	}
	resp, err := http.Get(strings.TrimSpace(string(url)) + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// nodeStates maps each shardproc- node to its Ready condition's status and
// its UID.
func nodeStates(ctx context.Context, client kubernetes.Interface) (map[string]corev1.ConditionStatus, map[string]types.UID, error) {
	list, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, nil, err
	}
	status, uids := map[string]corev1.ConditionStatus{}, map[string]types.UID{}
	for _, n := range list.Items {
		if !strings.HasPrefix(n.Name, "shardproc-") {
			continue
		}
		uids[n.Name] = n.UID
		status[n.Name] = "none"
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				status[n.Name] = c.Status
			}
		}
	}
	return status, uids, nil
}

func poll(t *testing.T, what string, timeout time.Duration, cond func(context.Context) (bool, error)) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), time.Second, timeout, true, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// Three shard processes share 6 nodes; one is killed (SIGKILL: no clean
// stop), its nodes go NotReady once their leases expire, and started again
// it brings them back Ready under the same names and UIDs. SIGTERM then
// stops every shard cleanly, leaving the Nodes (--delete-nodes=false).
func TestKilledShardProcessGetsItsNodesBack(t *testing.T) {
	cp := testenv.StartControlPlane(t, controlplane.Options{EtcdUnsafeNoFsync: true, Nodes: 6})
	client := kubernetes.NewForConfigOrDie(cp.Config)
	const shards, count = 3, 6
	procs := make([]*shardProcess, shards)
	for i := range shards {
		procs[i] = startShard(t, cp.KubeconfigPath, i, shards, count)
	}
	allReady := func(ctx context.Context) (bool, error) {
		status, _, err := nodeStates(ctx, client)
		if err != nil || len(status) != count {
			return false, nil
		}
		for _, s := range status {
			if s != corev1.ConditionTrue {
				return false, nil
			}
		}
		return true, nil
	}
	poll(t, "6 Ready nodes", 2*time.Minute, allReady)
	for i, p := range procs {
		poll(t, fmt.Sprintf("shard %d /readyz", i), 30*time.Second, func(context.Context) (bool, error) { return p.ready(), nil })
	}
	_, uids, err := nodeStates(context.Background(), client)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for name := range uids {
		names = append(names, name)
	}
	slices.Sort(names)
	if want := []string{"shardproc-0", "shardproc-1", "shardproc-2", "shardproc-3", "shardproc-4", "shardproc-5"}; !slices.Equal(names, want) {
		t.Fatalf("nodes %v, want %v", names, want)
	}

	// Shard 1 runs nodes 1 and 4.
	if err := procs[1].cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	procs[1].cmd.Wait()
	killed := time.Now()
	poll(t, "shard 1's nodes NotReady", 3*time.Minute, func(ctx context.Context) (bool, error) {
		status, _, err := nodeStates(ctx, client)
		return err == nil && status["shardproc-1"] != corev1.ConditionTrue && status["shardproc-4"] != corev1.ConditionTrue, nil
	})
	status, _, _ := nodeStates(context.Background(), client)
	for _, name := range []string{"shardproc-0", "shardproc-2", "shardproc-3", "shardproc-5"} {
		if status[name] != corev1.ConditionTrue {
			t.Errorf("%s of a live shard is %s", name, status[name])
		}
	}
	t.Logf("shard 1's nodes NotReady %s after the kill", time.Since(killed).Round(time.Second))

	procs[1] = startShard(t, cp.KubeconfigPath, 1, shards, count)
	restarted := time.Now()
	poll(t, "6 Ready nodes again", 2*time.Minute, allReady)
	t.Logf("shard 1's nodes Ready %s after its restart", time.Since(restarted).Round(time.Second))
	_, after, err := nodeStates(context.Background(), client)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(after, uids) {
		t.Errorf("after the restart nodes %v, want the same names and UIDs %v", after, uids)
	}

	for i, p := range procs {
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- p.cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("shard %d after SIGTERM: %v\n%s", i, err, p.cmd.Stderr)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("shard %d still running 30 s after SIGTERM", i)
		}
	}
	if _, left, _ := nodeStates(context.Background(), client); len(left) != count {
		t.Errorf("%d nodes left after the shards stopped with --delete-nodes=false, want %d", len(left), count)
	}
}
