package hollow

import (
	"encoding/json"
	"net/netip"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"

	"github.com/hollowmark/hollowmark/internal/kubeapi"
)

// The kubelet's state machine driven by hand: a clock that moves only when
// told, and an API server that answers only when told, so that the order of
// requests can be checked exactly and fast.

type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	at      time.Time
	f       func()
	stopped bool
}

func (t *fakeTimer) Stop() bool { was := !t.stopped; t.stopped = true; return was }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return t
}

// Tick is AfterFunc: the test's clock has no wheel to round to.
func (c *fakeClock) Tick(d time.Duration, f func()) timer { return c.AfterFunc(d, f) }

// step moves time forward by d, running every timer that falls due, in
// order, outside the clock's lock (they arm new timers).
func (c *fakeClock) step(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	c.mu.Unlock()
	for {
		c.mu.Lock()
		sort.SliceStable(c.timers, func(i, j int) bool { return c.timers[i].at.Before(c.timers[j].at) })
		var next *fakeTimer
		for i, t := range c.timers {
			if !t.stopped && !t.at.After(end) {
				next = t
				c.timers = slices.Delete(c.timers, i, i+1)
				break
			}
		}
		if next == nil {
			c.now = end
			c.mu.Unlock()
			return
		}
		c.now = next.at
		c.mu.Unlock()
		next.f()
	}
}

// fakeAPI holds one pod as a server would, applies status patches to it,
// and answers calls when flush is called.
type fakeAPI struct {
	t       *testing.T
	codec   *kubeapi.Codec
	mu      sync.Mutex
	pod     *corev1.Pod
	log     []string
	pending []pendingCall
	sent    []kubeapi.Call
	// refuse makes the next calls of a kind fail with 403.
	refuse map[string]int
}

type pendingCall struct {
	label  string
	answer func()
}

func (a *fakeAPI) Do(call kubeapi.Call, done func(kubeapi.Response)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	label := call.Verb + " " + resourceOf(call.Path)
	a.log = append(a.log, label)
	a.sent = append(a.sent, call)
	resp := a.answer(call)
	if a.refuse[label] > 0 {
		a.refuse[label]--
		resp = kubeapi.Response{Status: 403, Err: &kubeapi.StatusError{Code: 403, Message: "no relationship found"}}
	}
	a.pending = append(a.pending, pendingCall{label, func() { done(resp) }})
}

func (a *fakeAPI) Watch(string, url.Values, time.Duration, kubeapi.ListWatchHandler) watcher {
	return nopWatcher{}
}

type nopWatcher struct{}

func (nopWatcher) Start() {}
func (nopWatcher) Stop()  {}

func resourceOf(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case strings.HasPrefix(path, "/api/v1/nodes/") && strings.HasSuffix(path, "/status"):
		return "nodes/status"
	case strings.HasSuffix(path, "/status"):
		return "pods/status"
	case strings.HasSuffix(path, "/token"):
		return "serviceaccounts/token"
	case slices.Contains(parts, "events"):
		return "events"
	}
	return "pods"
}

func (a *fakeAPI) answer(call kubeapi.Call) kubeapi.Response {
	switch {
	case call.Verb == "GET":
		body, err := a.codec.Encode(a.pod.DeepCopy(), corev1.SchemeGroupVersion)
		if err != nil {
			a.t.Fatal(err)
		}
		return kubeapi.Response{Status: 200, Body: body}
	case call.Verb == "PATCH" && strings.Contains(call.Path, "/pods/") && strings.HasSuffix(call.Path, "/status"):
		old, _ := json.Marshal(a.pod)
		patched, err := strategicpatch.StrategicMergePatch(old, call.Body, corev1.Pod{})
		if err != nil {
			a.t.Fatalf("status patch %s: %v", call.Body, err)
		}
		var p corev1.Pod
		if err := json.Unmarshal(patched, &p); err != nil {
			a.t.Fatal(err)
		}
		a.pod = &p
	}
	return kubeapi.Response{Status: 200}
}

// flush answers every call made so far, and those the answers lead to.
func (a *fakeAPI) flush() {
	for a.answerRound(func(string) bool { return true }) > 0 {
	}
}

// answerRound answers the calls now pending that match, and no later ones;
// it returns how many it answered.
func (a *fakeAPI) answerRound(match func(label string) bool) int {
	a.mu.Lock()
	var now []pendingCall
	rest := a.pending[:0:0]
	for _, c := range a.pending {
		if match(c.label) {
			now = append(now, c)
		} else {
			rest = append(rest, c)
		}
	}
	a.pending = rest
	a.mu.Unlock()
	for _, c := range now {
		c.answer()
	}
	return len(now)
}

// statusCallsInFlight counts the status manager's calls not yet answered.
func (a *fakeAPI) statusCallsInFlight() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, c := range a.pending {
		if c.label == "GET pods" || c.label == "PATCH pods/status" || c.label == "DELETE pods" {
			n++
		}
	}
	return n
}

func (a *fakeAPI) calls() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := a.log
	a.log = nil
	return out
}

// inFlight counts calls not yet answered.
func (a *fakeAPI) inFlight() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.pending)
}

func constantLatencies(cfg *NodeConfig) {
	cfg.SandboxLatency, cfg.StartLatency, cfg.StopLatency = constant(100*time.Millisecond), constant(50*time.Millisecond), constant(20*time.Millisecond)
}

func newTestKubelet(t *testing.T) (*Kubelet, *fakeClock, *fakeAPI, *fakeAPI) {
	cfg := DefaultNodeConfig()
	constantLatencies(&cfg)
	codec := kubeapi.NewCodec()
	clk := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "uid-1"},
		Spec: corev1.PodSpec{NodeName: "n", RestartPolicy: corev1.RestartPolicyAlways, Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10"}},
			Volumes: []corev1.Volume{{Name: "kube-api-access", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
				Sources: []corev1.VolumeProjection{
					{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr.To[int64](3607)}},
					{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"}}},
				}}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodPending, QOSClass: corev1.PodQOSBestEffort,
			Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}}},
	}
	api := &fakeAPI{t: t, codec: codec, pod: pod}
	events := &fakeAPI{t: t, codec: codec, pod: pod}
	e := &env{cfg: &cfg, codec: codec, metrics: NewMetrics(), log: zap.NewNop(), clock: clk}
	k := newKubelet(e, "n", 0, api, events)
	k.podCIDR = netip.MustParsePrefix("10.64.1.0/24")
	return k, clk, api, events
}

func (k *Kubelet) see(obj runtime.Object) {
	podHandler{k}.Event("MODIFIED", obj)
}

// The objects the pod refers to sync when their watch delivers them.
func (k *Kubelet) syncObjects() {
	k.mu.Lock()
	refs := make([]objectRef, 0, len(k.objectWatches))
	for r := range k.objectWatches {
		refs = append(refs, r)
	}
	k.mu.Unlock()
	for _, r := range refs {
		objectHandler{k, r}.Replace([]runtime.Object{&corev1.ConfigMap{}})
	}
}

// mount takes a seen pod through the volume manager: its loops pass (the
// token is requested), the API answers, the pod's ConfigMap syncs, and
// WaitForAttachAndMount's next look lets it go on to its sandbox.
func mount(k *Kubelet, clk *fakeClock, api *fakeAPI, answer func()) {
	clk.step(2 * volumeLoop)
	answer()
	k.syncObjects()
	clk.step(mountPoll)
}

// bringUp starts a pod and answers everything until it runs.
func bringUp(k *Kubelet, clk *fakeClock, api *fakeAPI) {
	k.see(api.pod.DeepCopy())
	api.flush()
	mount(k, clk, api, api.flush)
	clk.step(100 * time.Millisecond) // sandbox
	api.flush()
	clk.step(50 * time.Millisecond) // container started
	api.flush()
}

func TestPodStartMakesTheKubeletsRequestsInOrder(t *testing.T) {
	k, clk, api, events := newTestKubelet(t)
	bringUp(k, clk, api)
	want := []string{"GET pods", "PATCH pods/status", // Pending
		"POST serviceaccounts/token",    // mounting
		"GET pods", "PATCH pods/status", // sandbox ready
		"GET pods", "PATCH pods/status"} // running
	if got := api.calls(); !slices.Equal(got, want) {
		t.Errorf("requests:\n got %v\nwant %v", got, want)
	}
	if got := events.calls(); !slices.Equal(got, []string{"POST events", "POST events", "POST events"}) {
		t.Errorf("events: %v, want Pulled, Created, Started", got)
	}
	st := api.pod.Status
	if st.Phase != corev1.PodRunning || st.QOSClass != corev1.PodQOSBestEffort {
		t.Errorf("server's pod: phase %s, QoS %q", st.Phase, st.QOSClass)
	}
	for _, c := range st.Conditions {
		if c.Status != corev1.ConditionTrue || c.Reason != "" || c.Message != "" {
			t.Errorf("condition %s on the server: %s %q %q", c.Type, c.Status, c.Reason, c.Message)
		}
	}
}

func TestMountWaitsForTheVolumeManagersLoopsAndRetriesWithBackOff(t *testing.T) {
	k, clk, api, _ := newTestKubelet(t)
	k.see(api.pod.DeepCopy())
	api.flush()
	api.calls()
	// Refused (the API server's authorizer has not seen the binding yet):
	// tried again after 500 ms, not before.
	api.refuse = map[string]int{"POST serviceaccounts/token": 1}
	// The token is requested once the populator and reconciler have run.
	clk.step(2 * volumeLoop)
	if got := api.calls(); !slices.Equal(got, []string{"POST serviceaccounts/token"}) {
		t.Fatalf("after the volume loops: %v, want the token request", got)
	}
	api.flush()
	clk.step(mountBackoff - time.Millisecond)
	if got := api.calls(); len(got) != 0 {
		t.Fatalf("retried before the back-off: %v", got)
	}
	clk.step(time.Millisecond)
	if got := api.calls(); !slices.Equal(got, []string{"POST serviceaccounts/token"}) {
		t.Fatalf("after the back-off: %v, want the token request again", got)
	}
}

func TestStatusSyncsOnePodAtATimeAndSendsOnlyTheLatest(t *testing.T) {
	k, clk, api, _ := newTestKubelet(t)
	k.see(api.pod.DeepCopy())
	// The first sync is not answered while the pod mounts, its sandbox
	// comes up and its container starts: the changes meanwhile go out as
	// one.
	mount(k, clk, api, func() {
		api.answerRound(func(label string) bool { return label == "POST serviceaccounts/token" })
	})
	clk.step(100 * time.Millisecond)
	clk.step(50 * time.Millisecond)
	for api.inFlight() > 0 {
		if n := api.statusCallsInFlight(); n > 1 {
			t.Fatalf("%d status calls in flight at once", n)
		}
		api.answerRound(func(string) bool { return true })
	}
	calls := api.calls()
	if n := strings.Count(strings.Join(calls, ","), "PATCH pods/status"); n != 2 {
		t.Errorf("%d status patches (%v), want 2: Pending, then the rest in one", n, calls)
	}
}

func TestGracefulDeletionSequence(t *testing.T) {
	k, clk, api, events := newTestKubelet(t)
	bringUp(k, clk, api)
	api.calls()
	events.calls()

	deleted := api.pod.DeepCopy()
	deleted.DeletionTimestamp = &metav1.Time{Time: clk.Now()}
	deleted.DeletionGracePeriodSeconds = ptr.To[int64](30)
	api.pod.DeletionTimestamp = deleted.DeletionTimestamp
	k.see(deleted)
	clk.step(20 * time.Millisecond) // containers stopped
	api.flush()
	clk.step(volumeTeardown)
	api.flush()

	want := []string{"GET pods", "PATCH pods/status", "GET pods", "PATCH pods/status", "DELETE pods"}
	if got := api.calls(); !slices.Equal(got, want) {
		t.Errorf("requests:\n got %v\nwant %v", got, want)
	}
	if got := events.calls(); !slices.Equal(got, []string{"POST events"}) {
		t.Errorf("events %v, want Killing", got)
	}
	if api.pod.Status.Phase != corev1.PodSucceeded {
		t.Errorf("server's phase %s before the DELETE, want Succeeded", api.pod.Status.Phase)
	}
}

func TestTokenIsRefreshedAtEightyPercentOfItsLife(t *testing.T) {
	k, clk, api, _ := newTestKubelet(t)
	bringUp(k, clk, api)
	api.calls()

	// 80% of 3607 s less up to 10 s of jitter, then up to a minute until
	// the next remount.
	clk.step(time.Duration(0.8*3607*float64(time.Second)) - 11*time.Second)
	if got := api.calls(); len(got) != 0 {
		t.Errorf("before 80%% of the token's life: %v", got)
	}
	clk.step(time.Minute + 11*time.Second)
	if got := api.calls(); !slices.Equal(got, []string{"POST serviceaccounts/token"}) {
		t.Errorf("after 80%% of the token's life and a remount: %v, want one token request", got)
	}
}

// A node the node lifecycle controller marked Unknown (its leases missed
// while the API server was away) is Ready again at the next status tick,
// with the transition at that tick, as the kubelet's tryUpdateNodeStatus
// does when its lister's Node differs; a Node as we reported it sends
// nothing before the periodic report.
func TestNodeStatusReclaimedFromTheNodeController(t *testing.T) {
	k, clk, api, _ := newTestKubelet(t)
	k.mu.Lock()
	k.registered, k.ready, k.readySince, k.lastReport = true, true, clk.Now(), clk.Now()
	ours := k.nodeConditions(clk.Now())
	k.mu.Unlock()
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Status: corev1.NodeStatus{Conditions: ours}}

	nodeHandler{k}.Event(watch.Modified, node.DeepCopy())
	clk.step(nodeStatusUpdatePeriod)
	k.statusTick()
	if got := api.calls(); len(got) != 0 {
		t.Fatalf("a Node as reported led to %v", got)
	}

	unknown := node.DeepCopy()
	for i := range unknown.Status.Conditions {
		c := &unknown.Status.Conditions[i]
		c.Status, c.Reason, c.Message = corev1.ConditionUnknown, "NodeStatusUnknown", "Kubelet stopped posting node status."
	}
	nodeHandler{k}.Event(watch.Modified, unknown)
	clk.step(nodeStatusUpdatePeriod)
	tick := clk.Now()
	k.statusTick()
	if got := api.calls(); !slices.Equal(got, []string{"PATCH nodes/status"}) {
		t.Fatalf("after the node controller's Unknown: %v, want one status PATCH", got)
	}
	var patch struct {
		Status corev1.NodeStatus `json:"status"`
	}
	if err := json.Unmarshal(api.sent[len(api.sent)-1].Body, &patch); err != nil {
		t.Fatal(err)
	}
	if len(patch.Status.Conditions) != 4 {
		t.Fatalf("patched conditions %+v", patch.Status.Conditions)
	}
	for _, c := range patch.Status.Conditions {
		want := corev1.ConditionFalse
		if c.Type == corev1.NodeReady {
			want = corev1.ConditionTrue
		}
		if c.Status != want || !c.LastTransitionTime.Time.Equal(tick) {
			t.Errorf("%s: %s since %s, want %s since the tick %s", c.Type, c.Status, c.LastTransitionTime, want, tick)
		}
	}

	// Our report back on the server: nothing more until the periodic one.
	node.Status.Conditions = patch.Status.Conditions
	nodeHandler{k}.Event(watch.Modified, node)
	clk.step(nodeStatusUpdatePeriod)
	k.statusTick()
	if got := api.calls(); len(got) != 0 {
		t.Errorf("after our report came back: %v", got)
	}
}

// A running pod whose Ready condition the node lifecycle controller set to
// False (its node went NotReady) is synced again at the next 10 s beat, as
// the status manager's periodic reconcile does; a pod as the kubelet last
// sent it is not.
func TestPodStatusReconciledAfterTheNodeControllerMarksItNotReady(t *testing.T) {
	k, clk, api, _ := newTestKubelet(t)
	k.mu.Lock()
	k.registered, k.lastReport = true, clk.Now() // no periodic node status in the way
	k.mu.Unlock()
	bringUp(k, clk, api)
	api.calls()

	k.see(api.pod.DeepCopy())
	k.statusTick()
	api.flush()
	if got := api.calls(); len(got) != 0 {
		t.Fatalf("a pod as the kubelet sent it was synced again: %v", got)
	}

	for i := range api.pod.Status.Conditions {
		if c := &api.pod.Status.Conditions[i]; c.Type == corev1.PodReady {
			c.Status = corev1.ConditionFalse
		}
	}
	k.see(api.pod.DeepCopy())
	k.statusTick()
	api.flush()
	if got := api.calls(); !slices.Equal(got, []string{"GET pods", "PATCH pods/status"}) {
		t.Fatalf("after the node controller's Ready=False: %v, want a GET and a PATCH", got)
	}
	if c := podCondition(api.pod.Status.Conditions, corev1.PodReady); c == nil || c.Status != corev1.ConditionTrue {
		t.Errorf("Ready on the server after the reconcile: %+v", c)
	}
	k.see(api.pod.DeepCopy())
	k.statusTick()
	api.flush()
	if got := api.calls(); len(got) != 0 {
		t.Errorf("synced again once reconciled: %v", got)
	}
}
