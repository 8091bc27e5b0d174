package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/hollowmark/hollowmark/controlplane"
	"github.com/hollowmark/hollowmark/internal/realnode"
	"github.com/hollowmark/hollowmark/internal/requestmix"
)

// workload is the request-mix check's (hollow/requestmix_test.go,
// measureMix): a minute of the control plane alone, the nodes registering,
// idle, then bare pause pods in one namespace started and deleted with one
// DELETECOLLECTION, each phase between two scrapes of the API server's
// counters.
type workload struct {
	pods                   int
	settle, baseline, idle time.Duration
	logf                   func(format string, args ...any)
}

// nodes are what is measured: started once the baseline is taken; alive
// reports a node process that died, so waits end early.
type nodes struct {
	count int
	start func(ctx context.Context) error
	alive func() error
}

// measure runs the workload on cp against the given nodes.
func (w workload) measure(ctx context.Context, cp *controlplane.ControlPlane, n nodes) (requestmix.Phases, error) {
	client, err := kubernetes.NewForConfig(cp.Config)
	if err != nil {
		return requestmix.Phases{}, fmt.Errorf("admin client: %w", err)
	}
	p := requestmix.Phases{Nodes: n.count, Pods: w.pods}
	var snaps []requestmix.Snapshot
	scrape := func() (requestmix.Snapshot, error) {
		s, err := requestmix.Scrape(ctx, client)
		snaps = append(snaps, s)
		return s, err
	}
	sleep := func(d time.Duration, what string) error {
		w.logf("%s (%s)", what, d)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d):
		}
		if n.alive != nil {
			return n.alive()
		}
		return nil
	}
	wait := func(what string, timeout time.Duration, cond func() (bool, error)) error {
		return realnode.WaitUntil(ctx, timeout, what, func() error {
			if n.alive != nil {
				if err := n.alive(); err != nil {
					return err
				}
			}
			ok, err := cond()
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("not yet")
			}
			return nil
		})
	}

	// The controller-manager's start (ServiceAccounts, their tokens, the
	// root CA ConfigMaps) is a burst, not a rate: let it pass before the
	// baseline, whose rate is subtracted from every phase.
	if err := sleep(w.settle, "control plane settles"); err != nil {
		return p, err
	}
	s0, err := scrape()
	if err != nil {
		return p, err
	}
	if err := sleep(w.baseline, "control plane baseline"); err != nil {
		return p, err
	}
	s1, err := scrape()
	if err != nil {
		return p, err
	}
	base := s1.Since(s0)

	if err := n.start(ctx); err != nil {
		return p, err
	}
	if err := wait("nodes Ready", 3*time.Minute, func() (bool, error) {
		return readyNodes(ctx, client) == n.count, nil
	}); err != nil {
		return p, err
	}
	w.logf("%d node(s) Ready", n.count)
	if err := sleep(20*time.Second, "registration settles"); err != nil {
		return p, err
	}
	s2, err := scrape()
	if err != nil {
		return p, err
	}
	p.Register = s2.Since(s1).Minus(base)

	if err := sleep(w.idle, "idle"); err != nil {
		return p, err
	}
	s3, err := scrape()
	if err != nil {
		return p, err
	}
	p.Idle = s3.Since(s2).Minus(base)
	p.WatchesIdle = s3.Since(s1).Watches

	const ns = "request-mix"
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return p, fmt.Errorf("creating namespace %s: %w", ns, err)
	}
	if err := wait("the default ServiceAccount", time.Minute, func() (bool, error) {
		_, err := client.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	}); err != nil {
		return p, err
	}
	w.logf("creating %d pods", w.pods)
	for i := range w.pods {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("mix-%d", i)},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: realnode.PodImage}}}}
		if _, err := client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			return p, fmt.Errorf("creating pod %s: %w", pod.Name, err)
		}
	}
	// Waits LIST: a GET would count as the kubelet's.
	var running []corev1.Pod
	if err := wait("pods Running and Ready", 5*time.Minute, func() (bool, error) {
		list, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		running = slices.DeleteFunc(list.Items, func(p corev1.Pod) bool { return p.Status.Phase != corev1.PodRunning || !podReady(&p) })
		return len(running) == w.pods, nil
	}); err != nil {
		return p, err
	}
	nodeSet := map[string]bool{}
	for _, pod := range running {
		nodeSet[pod.Spec.NodeName] = true
	}
	p.NodesWithPods = len(nodeSet)
	if err := sleep(5*time.Second, "pods Running; the last status syncs land"); err != nil {
		return p, err
	}
	s4, err := scrape()
	if err != nil {
		return p, err
	}
	p.Start = s4.Since(s3).Minus(base)
	p.WatchesPods = s4.Since(s3).Watches

	w.logf("deleting the pods (one DELETECOLLECTION)")
	if err := client.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
		return p, fmt.Errorf("deleting the pods: %w", err)
	}
	if err := wait("pods gone", 5*time.Minute, func() (bool, error) {
		list, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		return err == nil && len(list.Items) == 0, nil
	}); err != nil {
		return p, err
	}
	if err := sleep(2*time.Second, "pods gone"); err != nil {
		return p, err
	}
	s5, err := scrape()
	if err != nil {
		return p, err
	}
	p.Delete = s5.Since(s4).Minus(base)
	// The API server counts requests by HTTP method, so the collection
	// delete above is one DELETE (as hollow/requestmix_test.go corrects).
	p.Delete.Requests["DELETE pods"]--
	return p, nil
}

func readyNodes(ctx context.Context, client kubernetes.Interface) int {
	list, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0
	}
	ready := 0
	for _, n := range list.Items {
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				ready++
			}
		}
	}
	return ready
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// deletePods removes whatever pods a failed measurement left, with grace 0,
// while the kubelet still runs to tear their sandboxes down.
func deletePods(cp *controlplane.ControlPlane, logf func(string, ...any)) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client, err := kubernetes.NewForConfig(cp.Config)
	if err != nil {
		return
	}
	list, err := client.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil || len(list.Items) == 0 {
		return
	}
	logf("deleting %d pods left behind", len(list.Items))
	for _, p := range list.Items {
		client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
	}
	realnode.WaitUntil(ctx, 45*time.Second, "pods gone", func() error {
		list, err := client.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
		if err == nil && len(list.Items) > 0 {
			return fmt.Errorf("%d pods remain", len(list.Items))
		}
		return err
	})
}
