package deploy

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/hollowmark/hollowmark/controlplane"
	"github.com/hollowmark/hollowmark/internal/ociimage"
	"github.com/hollowmark/hollowmark/internal/realnode"
	"github.com/hollowmark/hollowmark/internal/testenv"
)

// The scale-out test's size: 3 shards of perShard hollow nodes.
const (
	shards   = 3
	perShard = 20
	ns       = "hollowmark"
	stsName  = "hollow-nodes"
)

// TestScaleOutOnARealKubelet is the Kubemark shape on one machine: a base
// control plane with one real kubelet node (containerd, runc), hollowmark's
// image imported into it, the manifests of `hollowmark manifests` applied,
// and 3 shard pods registering their hollow nodes in a second, target
// control plane. Then one shard's pod is deleted (the StatefulSet brings it
// back) and another shard is taken away long enough for its leases to
// expire (its nodes go NotReady) and given back: both get their nodes back
// Ready under the same names and UIDs.
//
// It needs root, containerd, runc, the CNI plugins, bin/kubelet, bin/pause
// and the image archive (make test-scaleout installs and builds them), and
// runs only when asked (HOLLOWMARK_SCALEOUT=1): the kubepods cgroups are the
// machine's. Asked for, a missing prerequisite fails it.
func TestScaleOutOnARealKubelet(t *testing.T) {
	if os.Getenv("HOLLOWMARK_SCALEOUT") != "1" {
		t.Skip("starts a real kubelet as root: set HOLLOWMARK_SCALEOUT=1 (make test-scaleout does)")
	}
	binDir := testenv.BinDir(t)
	archive := os.Getenv("HOLLOWMARK_IMAGE")
	if archive == "" {
		archive = filepath.Join(binDir, "hollowmark-image.tar")
	}
	if err := realnode.CheckHost(binDir, realnode.ScaleOutNetwork); err != nil {
		t.Fatalf("HOLLOWMARK_SCALEOUT=1 but no real kubelet here: %v", err)
	}
	image, revision := imageOf(t, archive)
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()

	base := testenv.StartControlPlane(t, controlplane.Options{EtcdUnsafeNoFsync: true, Nodes: 1})
	target := testenv.StartControlPlane(t, controlplane.Options{EtcdUnsafeNoFsync: true, Nodes: shards * perShard})
	baseClient := kubernetes.NewForConfigOrDie(base.Config)
	targetClient := kubernetes.NewForConfigOrDie(target.Config)

	node := &realnode.Node{Name: "scaleout-node", Work: t.TempDir(), BinDir: binDir, Net: realnode.ScaleOutNetwork, Logf: t.Logf}
	t.Cleanup(func() {
		if err := node.Stop(); err != nil {
			t.Errorf("real node clean-up: %v", err)
		}
	})
	begin := time.Now()
	if err := node.Start(ctx, base); err != nil {
		t.Fatal(err)
	}
	// alive waits for cond, failing at once if the kubelet or containerd
	// died, with the end of its log.
	alive := func(what string, timeout time.Duration, cond func() error) {
		t.Helper()
		if err := realnode.WaitUntil(ctx, timeout, what, func() error {
			if err := node.Exited(); err != nil {
				return err
			}
			return cond()
		}); err != nil {
			t.Fatalf("%v\nkubelet log ends:\n%s", err, realnode.Tail(node.Path("logs/kubelet.log"), 15))
		}
	}
	alive("the real node Ready", 2*time.Minute, func() error { return nodesReady(ctx, baseClient, "", 1) })
	t.Logf("real node Ready %s after start", time.Since(begin).Round(time.Second))
	if err := node.ImportImage(ctx, archive); err != nil {
		t.Fatal(err)
	}

	// The image runs: `hollowmark version` in it prints the commit.
	versionPod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "hollowmark-version", Namespace: "default"}, Spec: corev1.PodSpec{
		RestartPolicy: corev1.RestartPolicyNever, AutomountServiceAccountToken: ptr.To(false),
		Containers: []corev1.Container{{Name: "version", Image: image, ImagePullPolicy: corev1.PullNever, Args: []string{"version"}}},
	}}
	alive("the default ServiceAccount", time.Minute, func() error {
		_, err := baseClient.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err
	})
	if _, err := baseClient.CoreV1().Pods("default").Create(ctx, versionPod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var uid types.UID
	alive("the version pod to succeed", 2*time.Minute, func() error {
		p, err := baseClient.CoreV1().Pods("default").Get(ctx, versionPod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if p.Status.Phase != corev1.PodSucceeded {
			return fmt.Errorf("phase %s %v", p.Status.Phase, p.Status.ContainerStatuses)
		}
		uid = p.UID
		return nil
	})
	out := podLog(t, node, "default", versionPod.Name, uid, "version")
	if !strings.Contains(out, "(commit "+revision+")") {
		t.Errorf("hollowmark version in the image printed %q, want commit %s", out, revision)
	}

	kubeconfig, err := TargetKubeconfig(target.KubeconfigPath, "")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := Objects(Options{Namespace: ns, Name: stsName, Image: image, PullPolicy: corev1.PullNever,
		Nodes: shards * perShard, PerShard: perShard, TargetKubeconfig: kubeconfig, HostNetwork: true, StopGrace: 60})
	if err != nil {
		t.Fatal(err)
	}
	manifests, err := YAML(objs)
	if err != nil {
		t.Fatal(err)
	}
	applied := time.Now()
	apply(t, base.Config, manifests, false)
	alive(fmt.Sprintf("%d hollow nodes Ready in the target", shards*perShard), 5*time.Minute, func() error {
		return nodesReady(ctx, targetClient, "hollowmark.io/hollow-node=true", shards*perShard)
	})
	t.Logf("figure: %d hollow nodes of %d shards Ready %s after the manifests were applied", shards*perShard, shards, time.Since(applied).Round(time.Second))
	names := nodeUIDs(ctx, t, targetClient)
	want := map[string]bool{}
	for i := range shards * perShard {
		want[fmt.Sprintf("hollow-node-%d", i)] = true
	}
	if !maps.Equal(keys(names), want) {
		t.Fatalf("target nodes %v, want hollow-node-0 to -%d, each once", slices.Sorted(maps.Keys(names)), shards*perShard-1)
	}
	alive("the shard pods Ready (exec probes)", 2*time.Minute, func() error { return podsReady(ctx, baseClient, shards) })
	logShardUsage(t, "after registration")
	idle := shardUsage(t)
	time.Sleep(30 * time.Second)
	for i, u := range shardUsage(t) {
		t.Logf("figure: shard %d idle: %.1f mcores, %.1f MiB RSS", i, (u.cpu-idle[i].cpu)/30*1000, float64(u.rss)/(1<<20))
	}

	// Shard 1's pod deleted: the shard stops on SIGTERM within the grace
	// period, leaving its Nodes, and the StatefulSet's new pod adopts them.
	deleted := time.Now()
	if err := baseClient.CoreV1().Pods(ns).Delete(ctx, stsName+"-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	alive("a new pod for shard 1", 2*time.Minute, func() error {
		p, err := baseClient.CoreV1().Pods(ns).Get(ctx, stsName+"-1", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if p.DeletionTimestamp != nil || p.CreationTimestamp.Time.Before(deleted.Truncate(time.Second)) {
			return fmt.Errorf("the old pod is still there")
		}
		return nil
	})
	t.Logf("figure: shard 1's pod replaced %s after its deletion (grace period 60 s)", time.Since(deleted).Round(time.Second))
	alive("shard 1's pod Ready again", 2*time.Minute, func() error { return podsReady(ctx, baseClient, shards) })
	alive("every hollow node Ready", 2*time.Minute, func() error {
		return nodesReady(ctx, targetClient, "hollowmark.io/hollow-node=true", shards*perShard)
	})
	t.Logf("figure: shard 1's nodes Ready in a new pod %s after its deletion", time.Since(deleted).Round(time.Second))
	if got := nodeUIDs(ctx, t, targetClient); !maps.Equal(got, names) {
		t.Errorf("after shard 1's restart the nodes are %v, want the same names and UIDs %v", got, names)
	}

	// Shard 2 taken away (scaled down) long enough for its leases to
	// expire, then given back.
	scale(ctx, t, baseClient, shards-1)
	gone := time.Now()
	alive("shard 2's nodes NotReady", 3*time.Minute, func() error {
		return nodesReady(ctx, targetClient, "hollowmark.io/hollow-node=true", (shards-1)*perShard)
	})
	t.Logf("figure: shard 2's nodes NotReady %s after its pod was removed", time.Since(gone).Round(time.Second))
	for i := 2; i < shards*perShard; i += shards {
		n, err := targetClient.CoreV1().Nodes().Get(ctx, fmt.Sprintf("hollow-node-%d", i), metav1.GetOptions{})
		if err != nil || ready(n) {
			t.Errorf("hollow-node-%d of the removed shard 2 is Ready (%v)", i, err)
		}
	}
	scale(ctx, t, baseClient, shards)
	back := time.Now()
	alive("every hollow node Ready again", 3*time.Minute, func() error {
		return nodesReady(ctx, targetClient, "hollowmark.io/hollow-node=true", shards*perShard)
	})
	t.Logf("figure: shard 2's nodes Ready %s after it was scaled back", time.Since(back).Round(time.Second))
	if got := nodeUIDs(ctx, t, targetClient); !maps.Equal(got, names) {
		t.Errorf("after shard 2's return the nodes are %v, want the same names and UIDs %v", got, names)
	}
	logShardUsage(t, "at the end")
}

// imageOf reads an image archive's name and the commit in its labels.
func imageOf(t *testing.T, archive string) (name, revision string) {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatalf("the image archive (make image writes it): %v", err)
	}
	defer f.Close()
	files := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name], _ = io.ReadAll(tr)
	}
	var index struct {
		Manifests []struct {
			Digest      string
			Annotations map[string]string
		}
	}
	if err := json.Unmarshal(files["index.json"], &index); err != nil || len(index.Manifests) == 0 {
		t.Fatalf("%s: index.json: %v", archive, err)
	}
	var manifest struct{ Config struct{ Digest string } }
	blob := func(digest string) []byte { return files["blobs/"+strings.Replace(digest, ":", "/", 1)] }
	if err := json.Unmarshal(blob(index.Manifests[0].Digest), &manifest); err != nil {
		t.Fatalf("%s: manifest: %v", archive, err)
	}
	var config struct {
		Config struct{ Labels map[string]string }
	}
	if err := json.Unmarshal(blob(manifest.Config.Digest), &config); err != nil {
		t.Fatalf("%s: config: %v", archive, err)
	}
	return index.Manifests[0].Annotations[ociimage.AnnotationImageName], config.Config.Labels["org.opencontainers.image.revision"]
}

// podLog reads a container's log as the kubelet wrote it (CRI format: time,
// stream, tag, then the line).
func podLog(t *testing.T, node *realnode.Node, namespace, pod string, uid types.UID, container string) string {
	t.Helper()
	data, err := os.ReadFile(node.Path("pod-logs", fmt.Sprintf("%s_%s_%s", namespace, pod, uid), container, "0.log"))
	if err != nil {
		t.Fatalf("the %s container's log: %v", container, err)
	}
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if f := strings.SplitN(line, " ", 4); len(f) == 4 {
			out = append(out, f[3])
		}
	}
	return strings.Join(out, "\n")
}

func ready(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// nodesReady is nil once exactly want nodes matching selector are Ready.
func nodesReady(ctx context.Context, client kubernetes.Interface, selector string, want int) error {
	list, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return err
	}
	n := 0
	for i := range list.Items {
		if ready(&list.Items[i]) {
			n++
		}
	}
	if n != want {
		return fmt.Errorf("%d of %d nodes Ready, want %d", n, len(list.Items), want)
	}
	return nil
}

func nodeUIDs(ctx context.Context, t *testing.T, client kubernetes.Interface) map[string]types.UID {
	t.Helper()
	list, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: "hollowmark.io/hollow-node=true"})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]types.UID{}
	for _, n := range list.Items {
		out[n.Name] = n.UID
	}
	return out
}

func keys[V any](m map[string]V) map[string]bool {
	out := map[string]bool{}
	for k := range m {
		out[k] = true
	}
	return out
}

func podsReady(ctx context.Context, client kubernetes.Interface, want int) error {
	list, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	var states []string
	n := 0
	for _, p := range list.Items {
		ok := p.DeletionTimestamp == nil && slices.ContainsFunc(p.Status.Conditions, func(c corev1.PodCondition) bool {
			return c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue
		})
		if ok {
			n++
		}
		states = append(states, fmt.Sprintf("%s %s ready=%v", p.Name, p.Status.Phase, ok))
	}
	if n != want {
		return fmt.Errorf("%d pods Ready, want %d: %s", n, want, strings.Join(states, "; "))
	}
	return nil
}

func scale(ctx context.Context, t *testing.T, client kubernetes.Interface, replicas int32) {
	t.Helper()
	s, err := client.AppsV1().StatefulSets(ns).GetScale(ctx, stsName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Spec.Replicas = replicas
	if _, err := client.AppsV1().StatefulSets(ns).UpdateScale(ctx, stsName, s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// usage is a shard process's CPU time (seconds) and resident memory.
type usage struct {
	cpu float64
	rss int64
}

// shardUsage finds the shard processes (the image's /hollowmark running
// `nodes` with a StatefulSet pod name) in /proc and reads their usage, by
// shard index.
func shardUsage(t *testing.T) map[int]usage {
	t.Helper()
	out := map[int]usage{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil || !bytes.HasPrefix(cmdline, []byte("/hollowmark\x00nodes\x00")) {
			continue
		}
		environ, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		shard := -1
		for _, kv := range bytes.Split(environ, []byte{0}) {
			if name, ok := bytes.CutPrefix(kv, []byte("POD_NAME="+stsName+"-")); ok {
				shard, _ = strconv.Atoi(string(name))
			}
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if shard < 0 || err != nil {
			continue
		}
		// utime and stime are fields 14 and 15, after the parenthesised
		// name; clock ticks are 1/100 s on Linux.
		_, rest, _ := strings.Cut(string(stat), ") ")
		f := strings.Fields(rest)
		utime, _ := strconv.ParseFloat(f[11], 64)
		stime, _ := strconv.ParseFloat(f[12], 64)
		rssPages, _ := strconv.ParseInt(f[21], 10, 64)
		out[shard] = usage{cpu: (utime + stime) / 100, rss: rssPages * int64(os.Getpagesize())}
	}
	return out
}

func logShardUsage(t *testing.T, when string) {
	t.Helper()
	u := shardUsage(t)
	for i := range shards {
		t.Logf("figure: shard %d %s: %.2f CPU-seconds since start, %.1f MiB RSS", i, when, u[i].cpu, float64(u[i].rss)/(1<<20))
	}
}
