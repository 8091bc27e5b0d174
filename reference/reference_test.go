package main

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	kubeletv1beta1 "k8s.io/kubelet/config/v1beta1"
	"sigs.k8s.io/yaml"

	"github.com/hollowmark/hollowmark/controlplane"
	"github.com/hollowmark/hollowmark/internal/requestmix"
	"github.com/hollowmark/hollowmark/internal/testenv"
)

func TestImageArchiveIsADockerSaveOfTheBinary(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "pause")
	if err := os.WriteFile(bin, []byte("#!binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(dir, "image.tar")
	if err := writeImageArchive(archive, bin, []string{pauseImage, podImage}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
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
		data, _ := io.ReadAll(tr)
		files[h.Name] = data
	}
	var manifest []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	if err := json.Unmarshal(files["manifest.json"], &manifest); err != nil || len(manifest) != 1 {
		t.Fatalf("manifest.json: %v %s", err, files["manifest.json"])
	}
	m := manifest[0]
	if !slices.Equal(m.RepoTags, []string{pauseImage, podImage}) || len(m.Layers) != 1 {
		t.Fatalf("manifest = %+v", m)
	}
	var config struct {
		OS, Architecture string
		Config           struct{ Entrypoint []string }
		RootFS           struct {
			DiffIDs []string `json:"diff_ids"`
		}
	}
	if err := json.Unmarshal(files[m.Config], &config); err != nil {
		t.Fatal(err)
	}
	layer := files[m.Layers[0]]
	sum := sha256.Sum256(layer)
	if want := "sha256:" + hex.EncodeToString(sum[:]); !slices.Equal(config.RootFS.DiffIDs, []string{want}) {
		t.Errorf("diff_ids = %v, want [%s]", config.RootFS.DiffIDs, want)
	}
	if config.OS != "linux" || !slices.Equal(config.Config.Entrypoint, []string{"/pause"}) {
		t.Errorf("config = %+v", config)
	}
	lr := tar.NewReader(strings.NewReader(string(layer)))
	h, err := lr.Next()
	if err != nil || h.Name != "pause" || h.Mode&0o111 == 0 {
		t.Fatalf("layer entry %+v, %v: want an executable pause", h, err)
	}
	if data, _ := io.ReadAll(lr); string(data) != "#!binary" {
		t.Errorf("layer holds %q", data)
	}
}

func TestKubeletConfigNamesOnlyRealFields(t *testing.T) {
	out, err := kubeletConfig(kubeletSettings{socket: "/w/c.sock", clientCA: "/w/ca.crt", podLogs: "/w/pod-logs", port: 10, healthzPort: 11})
	if err != nil {
		t.Fatal(err)
	}
	var c kubeletv1beta1.KubeletConfiguration
	if err := yaml.UnmarshalStrict(out, &c); err != nil {
		t.Fatalf("not a KubeletConfiguration: %v\n%s", err, out)
	}
	if c.CgroupDriver != "cgroupfs" || c.ContainerRuntimeEndpoint != "unix:///w/c.sock" || c.Port != 10 || *c.HealthzPort != 11 ||
		c.Address != "127.0.0.1" || c.HealthzBindAddress != "127.0.0.1" || *c.FailCgroupV1 || c.PodLogsDir != "/w/pod-logs" {
		t.Errorf("configuration:\n%s", out)
	}
	// Left to the kubelet's defaults, which the expected table derives from.
	if c.NodeStatusUpdateFrequency.Duration != 0 || c.NodeStatusReportFrequency.Duration != 0 || c.KubeAPIQPS != nil || c.EventRecordQPS != nil {
		t.Errorf("configuration sets what the expected table takes as defaults:\n%s", out)
	}
}

func TestNodeFilesStayInTheWorkDir(t *testing.T) {
	n := &realNode{work: "/w/real"}
	paths := regexp.MustCompile(`"(/[^"]*)"`).FindAllStringSubmatch(n.containerdConfig()+cniConfig(n.path("cni/ipam")), -1)
	if len(paths) < 5 {
		t.Fatalf("found %d paths", len(paths))
	}
	for _, p := range paths {
		if !strings.HasPrefix(p[1], "/w/real/") && p[1] != "/usr/lib/cni" {
			t.Errorf("%s is outside the work dir", p[1])
		}
	}
	var cni map[string]any
	if err := json.Unmarshal([]byte(cniConfig("/w/ipam")), &cni); err != nil {
		t.Errorf("CNI configuration: %v", err)
	}
}

func TestMountPointsComeOffDeepestFirst(t *testing.T) {
	info := `26 1 254:0 / / rw - ext4 /dev/vda rw
100 26 0:50 / /w/real/ns/run rw - ext4 /dev/vda rw
101 26 0:51 / /w/real/kubelet/pods/x/volumes/kube-api-access rw - tmpfs tmpfs rw
102 26 0:52 / /w/real/containerd/state/rootfs rw - overlay overlay rw
103 102 0:53 / /w/real/containerd/state/rootfs rw - overlay overlay rw
104 26 0:54 / /w/real\040b rw - tmpfs tmpfs rw
105 26 0:55 / /w/realm rw - tmpfs tmpfs rw
`
	got := mountPointsUnder(info, "/w/real")
	want := []string{"/w/real/kubelet/pods/x/volumes/kube-api-access", "/w/real/containerd/state/rootfs", "/w/real/containerd/state/rootfs", "/w/real/ns/run"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := mountPointsUnder(info, "/w/real b"); !slices.Equal(got, []string{"/w/real b"}) {
		t.Errorf("escaped space: got %q", got)
	}
}

func TestReportTablesEveryRow(t *testing.T) {
	expected := []requestmix.Expectation{{Phase: "pod start, per pod", Request: "GET pods", Want: 3, Tolerance: 0.15}}
	p := requestmix.Phases{Nodes: 1, Pods: 2, Start: requestmix.Delta{Requests: map[string]float64{"GET pods": 6, "POST pods": 2, "GET configmaps": 1}}}
	res, err := p.Check(expected)
	if err != nil {
		t.Fatal(err)
	}
	r := report{Pods: 2, Real: p, RealResults: res, Hollow: p, HollowResults: res, HaveHollow: true}
	md := r.markdown()
	for _, want := range []string{"| pod start, per pod | GET pods | 3 | 3 | yes (±15%) | 3 | yes |", "| pod start, per pod | GET configmaps | 0.5 | 0.5 |"} {
		if !strings.Contains(md, want) {
			t.Errorf("table lacks %q:\n%s", want, md)
		}
	}
	dir := t.TempDir()
	if err := r.write(dir); err != nil {
		t.Fatal(err)
	}
	col, err := readColumn(filepath.Join(dir, "table.csv"), "hollow")
	if err != nil || col["pod start, per pod|GET pods"] != 3 {
		t.Errorf("hollow column = %v, %v", col, err)
	}
}

// TestRealNodeJoinsAndCleansUp starts the real node on a fresh control
// plane, runs one pod on it, and checks that the clean-up leaves nothing:
// no process in its mount namespace, no mount under its work dir, no
// kubepods cgroup, no bridge. It needs root, containerd, runc, the CNI
// plugins, bin/kubelet and bin/pause, and runs only when asked
// (HOLLOWMARK_REAL_KUBELET=1, as `make reference` does first): the bridge
// and the kubepods cgroups are the machine's, so two runs at once (two
// `go test ./...` on one machine) would collide. Asked for, a missing
// prerequisite fails it.
func TestRealNodeJoinsAndCleansUp(t *testing.T) {
	if os.Getenv("HOLLOWMARK_REAL_KUBELET") != "1" {
		t.Skip("starts a real kubelet as root: set HOLLOWMARK_REAL_KUBELET=1 (make reference does)")
	}
	binDir := testenv.BinDir(t)
	if err := checkHost(binDir); err != nil {
		t.Fatalf("HOLLOWMARK_REAL_KUBELET=1 but no real kubelet here: %v", err)
	}
	cp := testenv.StartControlPlane(t, controlplane.Options{})
	client := kubernetes.NewForConfigOrDie(cp.Config)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	n := &realNode{name: "reference-test", work: t.TempDir(), binDir: binDir, logf: t.Logf}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			if err := n.stop(); err != nil {
				t.Errorf("clean-up: %v", err)
			}
		}
	}
	defer stop()
	if err := n.start(ctx, cp); err != nil {
		t.Fatal(err)
	}
	alive := func(what string, cond func() bool) {
		t.Helper()
		if err := waitUntil(ctx, 2*time.Minute, what, func() error {
			if err := n.exited(); err != nil {
				return err
			}
			if !cond() {
				return fmt.Errorf("not yet")
			}
			return nil
		}); err != nil {
			t.Fatalf("%v; kubelet log ends:\n%s", err, tail(n.path("logs/kubelet.log"), 20))
		}
	}
	alive("node Ready", func() bool { return readyNodes(ctx, client) == 1 })
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: podImage}}}}
	alive("default ServiceAccount", func() bool {
		_, err := client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err == nil
	})
	if _, err := client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	alive("pod Ready", func() bool {
		p, err := client.CoreV1().Pods("default").Get(ctx, "p", metav1.GetOptions{})
		return err == nil && podReady(p)
	})
	if p, _ := client.CoreV1().Pods("default").Get(ctx, "p", metav1.GetOptions{}); p == nil || !strings.HasPrefix(p.Status.PodIP, "10.203.7.") {
		t.Errorf("pod IP %v, want one of the bridge's", p)
	}
	if err := client.CoreV1().Pods("default").Delete(ctx, "p", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	alive("pod gone", func() bool {
		_, err := client.CoreV1().Pods("default").Get(ctx, "p", metav1.GetOptions{})
		return err != nil
	})

	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", n.holder.pid()))
	if err != nil {
		t.Fatal(err)
	}
	stop()
	if pids := processesIn(ns, -1); len(pids) > 0 {
		t.Errorf("processes %v remain in the node's mount namespace", pids)
	}
	info, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if left := mountPointsUnder(string(info), n.work); len(left) > 0 {
		t.Errorf("mounts remain: %v", left)
	}
	if left, _ := filepath.Glob("/sys/fs/cgroup/*/kubepods"); len(left) > 0 {
		t.Errorf("cgroups remain: %v", left)
	}
	if _, err := net.InterfaceByName(bridgeName); err == nil {
		t.Errorf("bridge %s remains", bridgeName)
	}
}
