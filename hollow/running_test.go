package hollow_test

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/hollowmark/hollowmark/hollow"
)

// runShard starts shard i of shards over count nodes the way `hollowmark
// nodes` does, on the shared control plane as an attached cluster.
func runShard(t *testing.T, prefix string, count, shard, shards int, deleteNodes, owned bool) *hollow.Running {
	t.Helper()
	cp := shared.Get(t)
	lastReady, lastTotal := -1, -1
	r, err := hollow.Run(context.Background(), hollow.Cluster{Config: cp.Config, Authority: cp.Authority, Owned: owned}, hollow.RunOptions{
		Pool:        hollow.PoolConfig{Count: count, Shard: shard, Shards: shards, NamePrefix: prefix, Concurrency: 4, Node: fastConfig()},
		MetricsAddr: "127.0.0.1:0", ProbeFile: filepath.Join(t.TempDir(), "probes.jsonl"),
		ReadyTimeout: time.Minute, DeleteNodes: deleteNodes, Log: testLogger(t),
		ReadyProgress: func(ready, total int) { lastReady, lastTotal = ready, total },
	})
	if err != nil {
		t.Fatalf("shard %d: %v", shard, err)
	}
	// The progress the terminal shows ends with every node of the shard Ready.
	if want := len(r.Pool.Names()); lastReady != want || lastTotal != want {
		t.Errorf("shard %d: last ready progress %d of %d, want %d of %d", shard, lastReady, lastTotal, want, want)
	}
	return r
}

func httpOK(url string) bool {
	resp, err := http.Get(url)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// identities are the UIDs of the named Nodes and of their Leases.
func identities(t *testing.T, c *cluster, names []string) map[string][2]types.UID {
	t.Helper()
	out := map[string][2]types.UID{}
	for _, name := range names {
		n, err := c.client.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("node %s: %v", name, err)
		}
		l, err := c.client.CoordinationV1().Leases("kube-node-lease").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("lease %s: %v", name, err)
		}
		out[name] = [2]types.UID{n.UID, l.UID}
	}
	return out
}

func TestShardsSplitTheNodesAndARestartedShardAdoptsItsOwn(t *testing.T) {
	c := &cluster{cp: shared.Get(t)}
	c.client = kubernetes.NewForConfigOrDie(c.cp.Config)
	const shards, perShard = 3, 2
	running := make([]*hollow.Running, shards)
	var all []string
	for i := range shards {
		running[i] = runShard(t, "shard-", shards*perShard, i, shards, false, false)
		all = append(all, running[i].Pool.Names()...)
	}
	t.Cleanup(func() {
		for _, r := range running {
			r.Stop(context.Background())
		}
		hollow.DeleteNodes(context.Background(), c.client, all)
	})
	slices.Sort(all)
	var want []string
	for i := range shards * perShard {
		want = append(want, fmt.Sprintf("shard-%d", i))
	}
	slices.Sort(want)
	if !slices.Equal(all, want) {
		t.Fatalf("shards run %v, want each of %v once", all, want)
	}
	for i, r := range running {
		waitFor(t, fmt.Sprintf("shard %d /readyz", i), 30*time.Second, func(context.Context) (bool, error) {
			return httpOK(r.Metrics.URL + "/readyz"), nil
		})
		if !httpOK(r.Metrics.URL + "/livez") {
			t.Errorf("shard %d not live", i)
		}
	}
	before := identities(t, c, running[1].Pool.Names())

	// Stopped without deleting: the Nodes stay; started again, the shard
	// adopts them and their Leases instead of registering new ones.
	if err := running[1].Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	running[1] = runShard(t, "shard-", shards*perShard, 1, shards, false, false)
	if after := identities(t, c, running[1].Pool.Names()); !maps.Equal(before, after) {
		t.Errorf("restarted shard: node and lease UIDs %v, want %v", after, before)
	}
	nodes, err := c.client.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	count := 0
	for _, n := range nodes.Items {
		if slices.Contains(want, n.Name) {
			count++
		}
	}
	if count != shards*perShard {
		t.Errorf("%d shard nodes registered, want %d", count, shards*perShard)
	}
}

// Whether a stopping pool deletes its Nodes: only when told to, and never on
// a cluster of its own, which goes away with it.
func TestStopDeletesNodesOnlyWhenAskedOnAnAttachedCluster(t *testing.T) {
	tests := []struct {
		name               string
		deleteNodes, owned bool
		wantGone           bool
	}{
		{"attached, delete", true, false, true},
		{"attached, keep", false, false, false},
		{"owned, delete asked", true, true, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &cluster{cp: shared.Get(t)}
			c.client = kubernetes.NewForConfigOrDie(c.cp.Config)
			prefix := fmt.Sprintf("stop%d-", i)
			r := runShard(t, prefix, 2, 0, 1, tt.deleteNodes, tt.owned)
			names := r.Pool.Names()
			t.Cleanup(func() { hollow.DeleteNodes(context.Background(), c.client, names) })
			if err := r.Stop(context.Background()); err != nil {
				t.Fatal(err)
			}
			for _, name := range names {
				_, err := c.client.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
				if gone := errors.IsNotFound(err); gone != tt.wantGone {
					t.Errorf("%s gone = %v (%v), want %v", name, gone, err, tt.wantGone)
				}
			}
		})
	}
}
