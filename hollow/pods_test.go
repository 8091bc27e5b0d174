package hollow_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/hollowmark/hollowmark/hollow"
)

func (c *cluster) namespace(t *testing.T, name string) string {
	t.Helper()
	return createNamespaceWithServiceAccount(t, c.client, name)
}

// podOn is a pod the scheduler must place on node.
func podOn(name, node string, annotations map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: annotations},
		Spec: corev1.PodSpec{
			NodeSelector: map[string]string{"kubernetes.io/hostname": node},
			Containers: []corev1.Container{
				{Name: "app", Image: "registry.k8s.io/pause:3.10"},
				{Name: "sidecar", Image: "example.com/sidecar:1"},
			},
		},
	}
}

func (c *cluster) waitPod(t *testing.T, ns, name, what string, cond func(*corev1.Pod) bool) *corev1.Pod {
	t.Helper()
	var last *corev1.Pod
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		p, err := c.client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		last = p
		return cond(p), nil
	})
	if err != nil {
		if last == nil {
			t.Fatalf("waiting for %s: %v (pod never seen)", what, err)
		}
		t.Fatalf("waiting for %s: %v; pod on node %q, status %+v", what, err, last.Spec.NodeName, last.Status)
	}
	return last
}

func condition(p *corev1.Pod, typ corev1.PodConditionType) corev1.ConditionStatus {
	for _, c := range p.Status.Conditions {
		if c.Type == typ {
			return c.Status
		}
	}
	return ""
}

func TestPodRunsWithTheStatusAKubeletPosts(t *testing.T) {
	for _, fidelity := range []hollow.Fidelity{hollow.FidelityFull, hollow.FidelityLean} {
		t.Run(string(fidelity), func(t *testing.T) { testPodStatus(t, fidelity) })
	}
}

func testPodStatus(t *testing.T, fidelity hollow.Fidelity) {
	cfg := fastConfig()
	cfg.Fidelity = fidelity
	prefix := "run-" + string(fidelity) + "-"
	c := startPool(t, prefix, 1, cfg)
	ns := c.namespace(t, "pod-status-"+string(fidelity))
	ctx := context.Background()
	p := podOn("full", prefix+"0", nil)
	p.Spec.InitContainers = []corev1.Container{{Name: "setup", Image: "registry.k8s.io/pause:3.10"}}
	if _, err := c.client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	got := c.waitPod(t, ns, "full", "the pod to run", func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodRunning && condition(p, corev1.PodReady) == corev1.ConditionTrue
	})
	node, err := c.client.CoreV1().Nodes().Get(ctx, prefix+"0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st := got.Status
	if st.HostIP != node.Status.Addresses[0].Address || len(st.HostIPs) != 1 || st.StartTime == nil {
		t.Errorf("hostIP %q (node %q), hostIPs %v, startTime %v", st.HostIP, node.Status.Addresses[0].Address, st.HostIPs, st.StartTime)
	}
	cidr, err := netip.ParsePrefix(node.Spec.PodCIDR)
	if err != nil {
		t.Fatalf("node pod CIDR %q: %v", node.Spec.PodCIDR, err)
	}
	if ip, err := netip.ParseAddr(st.PodIP); err != nil || !cidr.Contains(ip) || len(st.PodIPs) != 1 {
		t.Errorf("pod IP %q not from the node's CIDR %s (podIPs %v)", st.PodIP, cidr, st.PodIPs)
	}
	for _, typ := range []corev1.PodConditionType{corev1.PodScheduled, corev1.PodReadyToStartContainers, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady} {
		if condition(got, typ) != corev1.ConditionTrue {
			t.Errorf("condition %s = %q", typ, condition(got, typ))
		}
	}
	// The status manager's diff clears what no longer holds: a Ready pod
	// keeps no "containers with unready status" from when it was not.
	for _, cond := range st.Conditions {
		if cond.Reason != "" || cond.Message != "" {
			t.Errorf("condition %s is %s but still says %q: %q", cond.Type, cond.Status, cond.Reason, cond.Message)
		}
	}
	if len(st.InitContainerStatuses) != 1 || st.InitContainerStatuses[0].State.Terminated == nil ||
		st.InitContainerStatuses[0].State.Terminated.Reason != "Completed" {
		t.Errorf("init container statuses %+v", st.InitContainerStatuses)
	}
	if len(st.ContainerStatuses) != 2 {
		t.Fatalf("container statuses %+v", st.ContainerStatuses)
	}
	for _, cs := range st.ContainerStatuses {
		if cs.State.Running == nil || !cs.Ready || cs.Started == nil || !*cs.Started || cs.ContainerID == "" || cs.ImageID == "" {
			t.Errorf("container %s: %+v", cs.Name, cs)
		}
	}
	waitFor(t, "the pod's probes", 10*time.Second, func(context.Context) (bool, error) { return len(c.probes.All()) == 1, nil })
	pr := c.probes.All()[0]
	if pr.Name != "full" || pr.Node != prefix+"0" || len(pr.Containers) != 2 ||
		pr.SandboxReady.Before(pr.Seen) || pr.Running.Before(pr.Containers[1].Started) || pr.StatusPosted.Before(pr.Running) {
		t.Errorf("probes out of order or incomplete: %+v", pr)
	}
}

func TestGracefulDeletionEndsThePod(t *testing.T) {
	c := startPool(t, "del-", 1, fastConfig())
	ns := c.namespace(t, "pod-delete")
	ctx := context.Background()
	if _, err := c.client.CoreV1().Pods(ns).Create(ctx, podOn("doomed", "del-0", nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c.waitPod(t, ns, "doomed", "the pod to run", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	// A 60 s grace period: the pod must be gone long before, because the
	// kubelet stops the containers and then deletes it with grace 0.
	if err := c.client.CoreV1().Pods(ns).Delete(ctx, "doomed", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](60)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the pod to disappear", 20*time.Second, func(ctx context.Context) (bool, error) {
		_, err := c.client.CoreV1().Pods(ns).Get(ctx, "doomed", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
}

func TestJobCompletes(t *testing.T) {
	c := startPool(t, "job-", 1, fastConfig())
	ns := c.namespace(t, "job")
	ctx := context.Background()
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "once"},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			NodeSelector:  map[string]string{"kubernetes.io/hostname": "job-0"},
			Containers:    []corev1.Container{{Name: "work", Image: "registry.k8s.io/pause:3.10"}},
		}}},
	}
	if _, err := c.client.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the job to complete", time.Minute, func(ctx context.Context) (bool, error) {
		j, err := c.client.BatchV1().Jobs(ns).Get(ctx, "once", metav1.GetOptions{})
		return err == nil && j.Status.Succeeded == 1, nil
	})
	pods, err := c.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "job-name=once"})
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("job pods: %v %v", pods, err)
	}
	p := pods.Items[0]
	term := p.Status.ContainerStatuses[0].State.Terminated
	if p.Status.Phase != corev1.PodSucceeded || term == nil || term.ExitCode != 0 || term.Reason != "Completed" {
		t.Errorf("job pod status %+v", p.Status)
	}
}

func TestInjectedFaultsShowWhatAKubeletShows(t *testing.T) {
	c := startPool(t, "fault-", 1, fastConfig())
	ns := c.namespace(t, "faults")
	ctx := context.Background()
	tests := []struct {
		fault hollow.Fault
		want  string
		check func(*corev1.Pod) bool
	}{
		{hollow.FaultImagePull, "waiting with ErrImagePull or ImagePullBackOff, Pending", func(p *corev1.Pod) bool {
			w := p.Status.ContainerStatuses[0].State.Waiting
			return p.Status.Phase == corev1.PodPending && w != nil && (w.Reason == "ErrImagePull" || w.Reason == "ImagePullBackOff")
		}},
		{hollow.FaultCrashLoop, "CrashLoopBackOff after exit 1", func(p *corev1.Pod) bool {
			cs := p.Status.ContainerStatuses[0]
			last := cs.LastTerminationState.Terminated
			return cs.State.Waiting != nil && cs.State.Waiting.Reason == "CrashLoopBackOff" && last != nil && last.ExitCode == 1 && last.Reason == "Error"
		}},
		{hollow.FaultOOMKill, "OOMKilled with exit 137", func(p *corev1.Pod) bool {
			last := p.Status.ContainerStatuses[0].LastTerminationState.Terminated
			return last != nil && last.ExitCode == 137 && last.Reason == "OOMKilled"
		}},
		{hollow.FaultNeverReady, "running but never ready", func(p *corev1.Pod) bool {
			cs := p.Status.ContainerStatuses[0]
			return p.Status.Phase == corev1.PodRunning && cs.State.Running != nil && !cs.Ready && condition(p, corev1.PodReady) == corev1.ConditionFalse
		}},
	}
	for _, tt := range tests {
		t.Run(string(tt.fault), func(t *testing.T) {
			name := string(tt.fault)
			p := podOn(name, "fault-0", map[string]string{hollow.FaultKey: name})
			if _, err := c.client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			c.waitPod(t, ns, name, tt.want, func(p *corev1.Pod) bool { return len(p.Status.ContainerStatuses) == 2 && tt.check(p) })
		})
	}
	// A crash-looping container restarts after the back-off.
	c.waitPod(t, ns, string(hollow.FaultCrashLoop), "a restart", func(p *corev1.Pod) bool {
		return p.Status.ContainerStatuses[0].RestartCount >= 1
	})
}

// A hostNetwork pod's IP must be one EndpointSlices accept: a Service in
// front of it gets the pod as a ready endpoint.
func TestHostNetworkPodsServeBehindAService(t *testing.T) {
	c := startPool(t, "hostnet-", 1, fastConfig())
	ns := c.namespace(t, "hostnet")
	ctx := context.Background()
	p := podOn("agent", "hostnet-0", nil)
	p.Labels = map[string]string{"app": "agent"}
	p.Spec.HostNetwork = true
	if _, err := c.client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "agent"}, Spec: corev1.ServiceSpec{
		Selector: map[string]string{"app": "agent"}, Ports: []corev1.ServicePort{{Port: 80}}}}
	if _, err := c.client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	running := c.waitPod(t, ns, "agent", "the pod to be ready", func(p *corev1.Pod) bool { return podReady(p) })
	waitFor(t, "the pod as an endpoint of its Service", 30*time.Second, func(ctx context.Context) (bool, error) {
		slices, err := c.client.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=agent"})
		if err != nil {
			return false, nil
		}
		for _, s := range slices.Items {
			for _, e := range s.Endpoints {
				if len(e.Addresses) == 1 && e.Addresses[0] == running.Status.PodIP {
					return true, nil
				}
			}
		}
		return false, nil
	})
}
