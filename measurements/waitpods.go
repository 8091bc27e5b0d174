package measurements

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// WaitForControlledPodsRunningName names the barrier.
const WaitForControlledPodsRunningName = "WaitForControlledPodsRunning"

// controllerKind is a kind WaitForControlledPodsRunning follows.
type controllerKind struct{ apiVersion, kind string }

// controllerKinds are the kinds followed, in the order of their informers
// (after the pods').
func controllerKinds() []controllerKind {
	return []controllerKind{{"apps/v1", "Deployment"}, {"apps/v1", "ReplicaSet"}, {"apps/v1", "StatefulSet"},
		{"apps/v1", "DaemonSet"}, {"batch/v1", "Job"}}
}

func waitForControlledPodsRunningMethod() Method {
	selector := SelectorParam("labelSelector", "the controllers and pods waited for, in the run's namespaces")
	timeout := DurationParam("timeout", defaultWaitTimeout, "wait: how long to wait; start/gather: how long after the last change "+
		"seen to a watched controller (ClusterLoader2's `operationTimeout`)")
	var kinds []string
	for _, k := range controllerKinds() {
		kinds = append(kinds, k.kind)
	}
	kind := EnumParam("kind", "", kinds, "only controllers of this kind and their pods (all kinds, and bare pods, when unset)")
	apiVersion := StringParam("apiVersion", "", "the kind's API version, checked against it (ClusterLoader2 names both)")
	build := func(p Params, d Deps) (*WaitForControlledPodsRunning, error) {
		switch v, k := apiVersion.Get(p), kind.Get(p); {
		case v != "" && k == "":
			return nil, fmt.Errorf("apiVersion %q without a kind", v)
		case v != "" && v != apiVersionOf(k):
			return nil, fmt.Errorf("apiVersion %q: %s is %s", v, k, apiVersionOf(k))
		}
		progress := progressLog(d.log(), "pods running")
		return &WaitForControlledPodsRunning{Client: d.Client, Namespaces: d.Namespaces, LabelSelector: selector.Get(p),
			Kind: kind.Get(p), Timeout: timeout.Get(p), Progress: func(c PodCounts) {
				progress(zap.Int("running", c.Running), zap.Int("want", c.Want), zap.Int("exist", c.Exist))
			}}, nil
	}
	return Method{
		Name: WaitForControlledPodsRunningName,
		Doc: "until the Deployments, ReplicaSets, StatefulSets, DaemonSets and Jobs of `labelSelector` in the run's namespaces " +
			"have exactly the pods they want, all running (after a delete: until the pods are gone); the timeout error lists " +
			"stuck pods and why (unschedulable, waiting reason, terminating). `wait` waits there and then; `start` begins " +
			"watching and `gather` waits, as ClusterLoader2's form",
		Params: []ParamSpec{selector, timeout, kind, apiVersion},
		Start:  func(p Params, d Deps) (Measurement, error) { return build(p, d) },
		Wait: func(p Params, d Deps) (Barrier, error) {
			w, err := build(p, d)
			if err != nil {
				return nil, err
			}
			return noFindings(w.Wait), nil
		},
	}
}

func apiVersionOf(kind string) string {
	for _, k := range controllerKinds() {
		if k.kind == kind {
			return k.apiVersion
		}
	}
	return ""
}

// WaitForControlledPodsRunning waits until the controllers matching a label
// selector (Deployments, ReplicaSets, StatefulSets, DaemonSets, Jobs) in the
// given namespaces have exactly the pods they want, all running: after a
// scale-down or a delete that means the surplus pods are gone. Bare pods
// matching the selector are waited for too, unless Kind is set.
//
// Wait waits there and then. Start and Gather are ClusterLoader2's form:
// Start begins watching, Gather waits until Timeout after the last change
// it saw to a watched controller.
type WaitForControlledPodsRunning struct {
	Client        kubernetes.Interface
	Namespaces    []string
	LabelSelector string
	// Kind, if set, limits the wait to controllers of that kind and their
	// pods.
	Kind    string
	Timeout time.Duration
	// Progress, if set, hears the counts about every second.
	Progress func(PodCounts)

	watch *controllerWatch // between Start and Gather
}

// PodCounts is where the wait stands. Unsettled counts controllers that
// have not yet acted on their latest spec.
type PodCounts struct {
	Want, Running, Exist, Unsettled int
}

func (c PodCounts) done() bool { return c.Unsettled == 0 && c.Running == c.Want && c.Exist == c.Want }

func (w *WaitForControlledPodsRunning) Name() string { return WaitForControlledPodsRunningName }

// Wait returns nil once the pods are there, or an error naming the stuck
// pods and why when Timeout passes.
func (w *WaitForControlledPodsRunning) Wait(ctx context.Context) error {
	cw, err := w.startWatch(ctx)
	if err != nil {
		return err
	}
	defer cw.stop()
	deadline := time.Now().Add(w.Timeout)
	return w.until(ctx, cw, func() (time.Time, string) { return deadline, "after " + w.Timeout.String() })
}

// Start begins watching the controllers and their pods.
func (w *WaitForControlledPodsRunning) Start(ctx context.Context) error {
	cw, err := w.startWatch(ctx)
	if err != nil {
		return err
	}
	w.watch = cw
	return nil
}

// Gather waits until the pods are there, for at most Timeout after the
// last change to a watched controller. It records nothing: it fails, naming
// the stuck pods, or it does not.
func (w *WaitForControlledPodsRunning) Gather(ctx context.Context) (*Summary, error) {
	if w.watch == nil {
		return nil, fmt.Errorf("%s was not started", WaitForControlledPodsRunningName)
	}
	defer w.watch.stop()
	if err := w.catchUp(ctx, w.watch); err != nil {
		return nil, err
	}
	err := w.until(ctx, w.watch, func() (time.Time, string) {
		last := w.watch.lastChange()
		return last.Add(w.Timeout), fmt.Sprintf("%s after the last change to a watched controller (%s)", w.Timeout, last.UTC().Format(time.RFC3339))
	})
	return nil, err
}

// Dispose stops watching, for a run that ended before Gather.
func (w *WaitForControlledPodsRunning) Dispose() {
	if w.watch != nil {
		w.watch.stop()
	}
}

// catchUp waits until the informers hold what a list of the controllers
// made now holds: each listed one at its listed version or later, and no
// other unless newer than the list. A controller created just before the
// gather may not have reached the informers yet, and its pods would not be
// waited for; ClusterLoader2's gather waits the same way.
func (w *WaitForControlledPodsRunning) catchUp(ctx context.Context, cw *controllerWatch) error {
	ns := map[string]bool{}
	for _, n := range w.Namespaces {
		ns[n] = true
	}
	opts := metav1.ListOptions{LabelSelector: w.LabelSelector}
	apps, batch := w.Client.AppsV1(), w.Client.BatchV1()
	// In the order of the informers after the pods'.
	lists := []func() (string, []metav1.Object, error){
		func() (string, []metav1.Object, error) {
			l, err := apps.Deployments("").List(ctx, opts)
			return listed(err, func() (string, []metav1.Object) { return l.ResourceVersion, metas(l.Items) })
		},
		func() (string, []metav1.Object, error) {
			l, err := apps.ReplicaSets("").List(ctx, opts)
			return listed(err, func() (string, []metav1.Object) { return l.ResourceVersion, metas(l.Items) })
		},
		func() (string, []metav1.Object, error) {
			l, err := apps.StatefulSets("").List(ctx, opts)
			return listed(err, func() (string, []metav1.Object) { return l.ResourceVersion, metas(l.Items) })
		},
		func() (string, []metav1.Object, error) {
			l, err := apps.DaemonSets("").List(ctx, opts)
			return listed(err, func() (string, []metav1.Object) { return l.ResourceVersion, metas(l.Items) })
		},
		func() (string, []metav1.Object, error) {
			l, err := batch.Jobs("").List(ctx, opts)
			return listed(err, func() (string, []metav1.Object) { return l.ResourceVersion, metas(l.Items) })
		},
	}
	type snapshot struct {
		version uint64            // of the list
		items   map[string]uint64 // namespace/name: version
	}
	snap := func() ([]snapshot, error) {
		out := make([]snapshot, len(lists))
		for i, list := range lists {
			rv, items, err := list()
			if err != nil {
				return nil, fmt.Errorf("listing controllers of %s: %w", w.LabelSelector, err)
			}
			out[i] = snapshot{version: version(rv), items: map[string]uint64{}}
			for _, o := range items {
				if ns[o.GetNamespace()] {
					out[i].items[o.GetNamespace()+"/"+o.GetName()] = version(o.GetResourceVersion())
				}
			}
		}
		return out, nil
	}
	want, err := snap()
	if err != nil {
		return err
	}
	caughtUp := func() bool {
		for i, inf := range cw.informers[1:] {
			seen := 0
			for _, obj := range inf.GetStore().List() {
				o, err := meta.Accessor(obj)
				if err != nil || !ns[o.GetNamespace()] {
					continue
				}
				v := version(o.GetResourceVersion())
				listedAt, listed := want[i].items[o.GetNamespace()+"/"+o.GetName()]
				switch {
				case listed && v >= listedAt:
					seen++
				case listed || v <= want[i].version: // behind, or deleted since
					return false
				}
			}
			if seen < len(want[i].items) {
				return false
			}
		}
		return true
	}
	// A controller listed and deleted since (a ReplicaSet the garbage
	// collector takes after its Deployment) never reaches the watch: the
	// list is taken again every second, and the watch compared with the
	// latest.
	deadline := time.Now().Add(w.Timeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for n := 1; !caughtUp(); n++ {
		if time.Now().After(deadline) {
			return fmt.Errorf("the watch of the controllers of %s did not catch up with the API server in %s", w.LabelSelector, w.Timeout)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the watch of the controllers of %s: %w", w.LabelSelector, ctx.Err())
		case <-tick.C:
		}
		if n%10 == 0 {
			if want, err = snap(); err != nil {
				return err
			}
		}
	}
	return nil
}

// listed is a list's version and items, or its error.
func listed(err error, get func() (string, []metav1.Object)) (string, []metav1.Object, error) {
	if err != nil {
		return "", nil, err
	}
	rv, items := get()
	return rv, items, nil
}

// metas are typed items as objects.
func metas[T any, PT interface {
	*T
	metav1.Object
}](items []T) []metav1.Object {
	out := make([]metav1.Object, len(items))
	for i := range items {
		out[i] = PT(&items[i])
	}
	return out
}

// version reads a resource version as a number, as ClusterLoader2 does;
// an unreadable one is 0.
func version(rv string) uint64 {
	v, _ := strconv.ParseUint(rv, 10, 64)
	return v
}

// controllerWatch is the informers of the pods and controllers a wait
// follows, and when a controller last changed.
type controllerWatch struct {
	informers []cache.SharedIndexInformer // pods, then controllerKinds
	stopCh    chan struct{}
	stopOnce  sync.Once
	mu        sync.Mutex
	changed   time.Time
}

func (c *controllerWatch) stop() { c.stopOnce.Do(func() { close(c.stopCh) }) }

func (c *controllerWatch) touch() {
	c.mu.Lock()
	c.changed = time.Now()
	c.mu.Unlock()
}

func (c *controllerWatch) lastChange() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.changed
}

func (w *WaitForControlledPodsRunning) startWatch(ctx context.Context) (*controllerWatch, error) {
	selector, err := labels.Parse(w.LabelSelector)
	if err != nil {
		return nil, fmt.Errorf("label selector %q: %w", w.LabelSelector, err)
	}
	if w.Kind != "" && apiVersionOf(w.Kind) == "" {
		return nil, fmt.Errorf("kind %q: not one of the controllers followed", w.Kind)
	}
	cw := &controllerWatch{stopCh: make(chan struct{}), changed: time.Now()}
	factory := informers.NewSharedInformerFactoryWithOptions(w.Client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = selector.String() }))
	cw.informers = []cache.SharedIndexInformer{
		factory.Core().V1().Pods().Informer(), factory.Apps().V1().Deployments().Informer(),
		factory.Apps().V1().ReplicaSets().Informer(), factory.Apps().V1().StatefulSets().Informer(),
		factory.Apps().V1().DaemonSets().Informer(), factory.Batch().V1().Jobs().Informer(),
	}
	touch := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { cw.touch() },
		UpdateFunc: func(any, any) { cw.touch() },
		DeleteFunc: func(any) { cw.touch() },
	}
	for _, inf := range cw.informers[1:] {
		if _, err := inf.AddEventHandler(touch); err != nil {
			return nil, fmt.Errorf("watching controllers: %w", err)
		}
	}
	factory.Start(cw.stopCh)
	synced := make([]cache.InformerSynced, len(cw.informers))
	for i, l := range cw.informers {
		synced[i] = l.HasSynced
	}
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		cw.stop()
		return nil, fmt.Errorf("watching pods and controllers: %w", ctx.Err())
	}
	return cw, nil
}

// until polls the pods every second until they are there, ctx ends, or the
// deadline (which may move) passes.
func (w *WaitForControlledPodsRunning) until(ctx context.Context, cw *controllerWatch, deadline func() (time.Time, string)) error {
	ns := map[string]bool{}
	for _, n := range w.Namespaces {
		ns[n] = true
	}
	// Reasons are spelt out only for the error: formatting one per stuck
	// pod every second would be most of the work while thousands start.
	state := func(explain bool) *podState { return newPodState(ns, cw.informers, w.Kind, explain) }
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		s := state(false)
		if w.Progress != nil {
			w.Progress(s.counts)
		}
		if s.counts.done() {
			return nil
		}
		if at, bound := deadline(); time.Now().After(at) {
			return fmt.Errorf("pods of %s not running %s: %s", w.LabelSelector, bound, state(true).describe())
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for pods of %s: %w (%s)", w.LabelSelector, ctx.Err(), state(true).describe())
		case <-tick.C:
		}
	}
}

// podState is a snapshot: how many pods the controllers want, and the
// pods there are.
type podState struct {
	counts PodCounts
	short  []string // controllers with fewer pods than wanted
	stuck  []string // pods that exist but are not running, with why
}

// newPodState counts the pods and controllers of kind (all kinds and bare
// pods when ""); with explain it also says why pods and controllers are not
// there yet.
func newPodState(ns map[string]bool, informers []cache.SharedIndexInformer, kind string, explain bool) *podState {
	s := &podState{}
	// A Deployment's pods belong to its ReplicaSets: count them for both.
	deploymentOf := map[string]string{}
	replicaSets := map[string]bool{}
	for _, obj := range informers[2].GetStore().List() {
		rs := obj.(*appsv1.ReplicaSet)
		replicaSets[string(rs.UID)] = true
		if ref := metav1.GetControllerOf(rs); ref != nil && ref.Kind == "Deployment" {
			deploymentOf[string(rs.UID)] = string(ref.UID)
		}
	}
	// counted says whether a pod is one of kind's. A pod of a ReplicaSet
	// no longer there may have been a Deployment's: it counts for both, so
	// the wait does not end while it terminates.
	counted := func(ref *metav1.OwnerReference) bool {
		switch {
		case kind == "":
			return true
		case ref == nil:
			return false
		case ref.Kind != "ReplicaSet":
			return ref.Kind == kind
		}
		_, ofDeployment := deploymentOf[string(ref.UID)]
		gone := !replicaSets[string(ref.UID)]
		return kind == "Deployment" && (ofDeployment || gone) || kind == "ReplicaSet" && !ofDeployment
	}
	pods := map[string]int{} // controller UID -> existing pods
	for _, obj := range informers[0].GetStore().List() {
		pod := obj.(*corev1.Pod)
		ref := metav1.GetControllerOf(pod)
		if !ns[pod.Namespace] || pod.Status.Phase == corev1.PodSucceeded && ownedByJob(pod) || !counted(ref) {
			continue
		}
		s.counts.Exist++
		if ref != nil {
			pods[string(ref.UID)]++
			if d, ok := deploymentOf[string(ref.UID)]; ok {
				pods[d]++
			}
		} else if pod.DeletionTimestamp == nil {
			s.counts.Want++ // a bare pod wants itself
		}
		switch {
		case running(pod) && pod.DeletionTimestamp == nil:
			s.counts.Running++
		case !explain:
		case pod.DeletionTimestamp != nil:
			s.stuck = append(s.stuck, fmt.Sprintf("%s/%s: terminating since %s", pod.Namespace, pod.Name, pod.DeletionTimestamp.UTC().Format(time.RFC3339)))
		default:
			s.stuck = append(s.stuck, fmt.Sprintf("%s/%s: %s", pod.Namespace, pod.Name, whyNotRunning(pod)))
		}
	}
	kinds := controllerKinds()
	for i, inf := range informers[1:] {
		if kind != "" && kinds[i].kind != kind {
			continue
		}
		for _, obj := range inf.GetStore().List() {
			c := obj.(metav1.Object)
			if !ns[c.GetNamespace()] || c.GetDeletionTimestamp() != nil || metav1.GetControllerOf(c) != nil {
				continue // a ReplicaSet of a Deployment counts through its Deployment
			}
			want := wantedPods(obj)
			s.counts.Want += want
			why := unsettled(obj)
			if why != "" {
				s.counts.Unsettled++
			}
			if !explain {
				continue
			}
			name := fmt.Sprintf("%s %s/%s", kindOf(obj), c.GetNamespace(), c.GetName())
			if have := pods[string(c.GetUID())]; have < want {
				s.short = append(s.short, fmt.Sprintf("%s has %d of %d pods", name, have, want))
			}
			if why != "" {
				s.short = append(s.short, name+" "+why)
			}
		}
	}
	return s
}

// unsettled says why a controller has not yet acted on its latest spec,
// or "" when it has: right after an update, its old pods may match the
// wanted count while the rollout has not even started.
func unsettled(obj any) string {
	observed := func(status, generation int64) string {
		if status < generation {
			return fmt.Sprintf("has not observed generation %d yet", generation)
		}
		return ""
	}
	switch c := obj.(type) {
	case *appsv1.Deployment:
		if why := observed(c.Status.ObservedGeneration, c.Generation); why != "" {
			return why
		}
		if want := wantedPods(c); int(c.Status.UpdatedReplicas) < want {
			return fmt.Sprintf("has updated %d of %d pods", c.Status.UpdatedReplicas, want)
		}
	case *appsv1.ReplicaSet:
		return observed(c.Status.ObservedGeneration, c.Generation)
	case *appsv1.StatefulSet:
		if why := observed(c.Status.ObservedGeneration, c.Generation); why != "" {
			return why
		}
		if c.Status.UpdateRevision != c.Status.CurrentRevision {
			return fmt.Sprintf("is rolling out revision %s", c.Status.UpdateRevision)
		}
	case *appsv1.DaemonSet:
		if why := observed(c.Status.ObservedGeneration, c.Generation); why != "" {
			return why
		}
		if c.Status.UpdatedNumberScheduled < c.Status.DesiredNumberScheduled {
			return fmt.Sprintf("has updated %d of %d pods", c.Status.UpdatedNumberScheduled, c.Status.DesiredNumberScheduled)
		}
	}
	return ""
}

func wantedPods(obj any) int {
	replicas := func(r *int32) int {
		if r == nil {
			return 1
		}
		return int(*r)
	}
	switch c := obj.(type) {
	case *appsv1.Deployment:
		return replicas(c.Spec.Replicas)
	case *appsv1.ReplicaSet:
		return replicas(c.Spec.Replicas)
	case *appsv1.StatefulSet:
		return replicas(c.Spec.Replicas)
	case *appsv1.DaemonSet:
		return int(c.Status.DesiredNumberScheduled)
	case *batchv1.Job:
		// Pods still to run, at most parallelism at once; finished ones
		// are not counted.
		left := replicas(c.Spec.Completions) - int(c.Status.Succeeded)
		return max(0, min(replicas(c.Spec.Parallelism), left))
	}
	return 0
}

func kindOf(obj any) string {
	switch obj.(type) {
	case *appsv1.Deployment:
		return "Deployment"
	case *appsv1.ReplicaSet:
		return "ReplicaSet"
	case *appsv1.StatefulSet:
		return "StatefulSet"
	case *appsv1.DaemonSet:
		return "DaemonSet"
	case *batchv1.Job:
		return "Job"
	}
	return "object"
}

func ownedByJob(pod *corev1.Pod) bool {
	ref := metav1.GetControllerOf(pod)
	return ref != nil && ref.Kind == "Job"
}

// whyNotRunning is the most specific reason a pod gives.
func whyNotRunning(pod *corev1.Pod) string {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status != corev1.ConditionTrue {
			return fmt.Sprintf("unschedulable: %s", strings.TrimSpace(c.Message))
		}
	}
	if pod.Spec.NodeName == "" {
		return "not scheduled yet"
	}
	for _, cs := range slices.Concat(pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses) {
		if w := cs.State.Waiting; w != nil && w.Reason != "" {
			return fmt.Sprintf("container %s waiting: %s %s", cs.Name, w.Reason, w.Message)
		}
		if t := cs.State.Terminated; t != nil && t.ExitCode != 0 {
			return fmt.Sprintf("container %s terminated: %s (exit code %d)", cs.Name, t.Reason, t.ExitCode)
		}
	}
	return fmt.Sprintf("phase %s on node %s", pod.Status.Phase, pod.Spec.NodeName)
}

// describe lists what keeps the wait from ending, the first few of each.
func (s *podState) describe() string {
	out := fmt.Sprintf("%d of %d wanted pods running, %d pods exist", s.counts.Running, s.counts.Want, s.counts.Exist)
	if len(s.stuck) > 0 {
		out += "; stuck pods: " + firstOf(s.stuck, 10)
	}
	if len(s.short) > 0 {
		out += "; controllers short of pods: " + firstOf(s.short, 10)
	}
	return out
}

// running is the barrier's "running": phase Running with every container
// running, so that a wait ends only when the workload is fully up.
func running(pod *corev1.Pod) bool {
	if pod.Status.Phase != corev1.PodRunning || len(pod.Status.ContainerStatuses) != len(pod.Spec.Containers) {
		return false
	}
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.State.Running == nil {
			return false
		}
	}
	return true
}
