package realnode

import (
	"context"
	"encoding/json"
	"fmt"
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
	"github.com/hollowmark/hollowmark/hollow"
	"github.com/hollowmark/hollowmark/internal/testenv"
)

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
	n := &Node{Work: "/w/real", Net: ReferenceNetwork}
	paths := regexp.MustCompile(`"(/[^"]*)"`).FindAllStringSubmatch(n.containerdConfig()+cniConfig(n.Net, n.Path("cni/ipam")), -1)
	if len(paths) < 5 {
		t.Fatalf("found %d paths", len(paths))
	}
	for _, p := range paths {
		if !strings.HasPrefix(p[1], "/w/real/") && p[1] != "/usr/lib/cni" {
			t.Errorf("%s is outside the work dir", p[1])
		}
	}
	var cni map[string]any
	if err := json.Unmarshal([]byte(cniConfig(ScaleOutNetwork, "/w/ipam")), &cni); err != nil {
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
	got := MountPointsUnder(info, "/w/real")
	want := []string{"/w/real/kubelet/pods/x/volumes/kube-api-access", "/w/real/containerd/state/rootfs", "/w/real/containerd/state/rootfs", "/w/real/ns/run"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := MountPointsUnder(info, "/w/real b"); !slices.Equal(got, []string{"/w/real b"}) {
		t.Errorf("escaped space: got %q", got)
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
	if err := CheckHost(binDir, ReferenceNetwork); err != nil {
		t.Fatalf("HOLLOWMARK_REAL_KUBELET=1 but no real kubelet here: %v", err)
	}
	cp := testenv.StartControlPlane(t, controlplane.Options{})
	client := kubernetes.NewForConfigOrDie(cp.Config)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	n := &Node{Name: "reference-test", Work: t.TempDir(), BinDir: binDir, Logf: t.Logf, Net: ReferenceNetwork}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			if err := n.Stop(); err != nil {
				t.Errorf("clean-up: %v", err)
			}
		}
	}
	defer stop()
	if err := n.Start(ctx, cp); err != nil {
		t.Fatal(err)
	}
	alive := func(what string, cond func() bool) {
		t.Helper()
		if err := WaitUntil(ctx, 2*time.Minute, what, func() error {
			if err := n.Exited(); err != nil {
				return err
			}
			if !cond() {
				return fmt.Errorf("not yet")
			}
			return nil
		}); err != nil {
			t.Fatalf("%v; kubelet log ends:\n%s", err, Tail(n.Path("logs/kubelet.log"), 20))
		}
	}
	alive("node Ready", func() bool {
		ready, err := hollow.CountReady(ctx, cp.Config)
		return err == nil && ready == 1
	})
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: PodImage}}}}
	alive("default ServiceAccount", func() bool {
		_, err := client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err == nil
	})
	if _, err := client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	alive("pod Ready", func() bool {
		p, err := client.CoreV1().Pods("default").Get(ctx, "p", metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodRunning
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

	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", n.holder.PID()))
	if err != nil {
		t.Fatal(err)
	}
	stop()
	if pids := ProcessesIn(ns, -1); len(pids) > 0 {
		t.Errorf("processes %v remain in the node's mount namespace", pids)
	}
	info, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if left := MountPointsUnder(string(info), n.Work); len(left) > 0 {
		t.Errorf("mounts remain: %v", left)
	}
	if left, _ := filepath.Glob("/sys/fs/cgroup/*/kubepods"); len(left) > 0 {
		t.Errorf("cgroups remain: %v", left)
	}
	if _, err := net.InterfaceByName(ReferenceNetwork.Bridge); err == nil {
		t.Errorf("bridge %s remains", ReferenceNetwork.Bridge)
	}
}
