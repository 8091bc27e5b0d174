package hollow

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"

	"github.com/hollowmark/hollowmark/internal/kubeapi"
)

type containerPhase uint8

const (
	waiting containerPhase = iota
	running
	terminated
)

// container is the fake runtime's view of one container.
type container struct {
	name, image     string
	phase           containerPhase
	reason, message string
	startedAt       time.Time
	finishedAt      time.Time
	exitCode        int32
	restarts        int32
	ready           bool
	created         bool // has a container ID and image ID
	last            *corev1.ContainerStateTerminated
}

// Pod conditions the kubelet owns, in the order it reports them.
const (
	condReadyToStart = iota
	condInitialized
	condReady
	condContainersReady
	numConds
)

var condTypes = [numConds]corev1.PodConditionType{
	corev1.PodReadyToStartContainers, corev1.PodInitialized, corev1.PodReady, corev1.ContainersReady,
}

type condition struct {
	ok bool
	at time.Time
}

// pod is a hollow kubelet's state for one pod.
type pod struct {
	uid             types.UID
	namespace, name string
	generation      int64
	init, main      []container
	restartPolicy   corev1.RestartPolicy
	hostNetwork     bool
	fault           Fault
	runFor          time.Duration // 0: until deleted
	grace           time.Duration
	phase           corev1.PodPhase
	ip              netip.Addr
	ipHeld          bool
	startTime       time.Time
	conds           [numConds]condition
	pullAttempts    int

	timer *time.Timer
	epoch int // invalidates timers that fired while being stopped

	deleting, terminated, deleteSent, gone bool

	// status manager: version counts changes, inFlight is a PATCH under way,
	// runningVersion is the first version that reported Running.
	version, runningVersion int
	inFlight                bool

	probes   PodProbes
	recorded bool
}

func (p *pod) stopTimer() {
	p.epoch++
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
}

func (p *pod) setCond(i int, ok bool, now time.Time) {
	if p.conds[i].ok != ok || p.conds[i].at.IsZero() {
		p.conds[i] = condition{ok: ok, at: now}
	}
}

// after runs step under the kubelet's lock once d has passed, unless the
// pod's timer was stopped or replaced meanwhile.
func (k *Kubelet) after(p *pod, d time.Duration, step func(now time.Time)) {
	p.stopTimer()
	epoch := p.epoch
	p.timer = time.AfterFunc(d, func() {
		k.mu.Lock()
		defer k.mu.Unlock()
		if k.stopped || p.gone || p.epoch != epoch {
			return
		}
		p.timer = nil
		step(time.Now())
	})
}

func (k *Kubelet) transition(to string) { k.env.metrics.podTransitions.WithLabelValues(to).Inc() }

// podHandler feeds the kubelet's pod watch into the fake runtime.
type podHandler struct{ k *Kubelet }

func (h podHandler) Replace(items []runtime.Object) {
	k := h.k
	k.mu.Lock()
	defer k.mu.Unlock()
	listed := make(map[types.UID]bool, len(items))
	for _, it := range items {
		if p, ok := it.(*corev1.Pod); ok {
			listed[p.UID] = true
			k.onPod(p)
		}
	}
	for uid, p := range k.pods {
		if !listed[uid] {
			k.forget(p)
		}
	}
}

func (h podHandler) Event(t watch.EventType, obj runtime.Object) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	k := h.k
	k.mu.Lock()
	defer k.mu.Unlock()
	if t == watch.Deleted {
		if known := k.pods[p.UID]; known != nil {
			k.forget(known)
		}
		return
	}
	k.onPod(p)
}

func (h podHandler) Failed(err error) {
	h.k.env.metrics.watchFailures.WithLabelValues("kubelet").Inc()
	h.k.env.log.Debug("pod watch retrying", zap.String("node", h.k.name), zap.Error(err))
}

// onPod handles an added or changed pod. Callers hold k.mu.
func (k *Kubelet) onPod(obj *corev1.Pod) {
	if k.stopped {
		return
	}
	if p := k.pods[obj.UID]; p != nil {
		p.generation = obj.Generation
		if obj.DeletionTimestamp != nil {
			k.terminate(p, obj)
		}
		return
	}
	if obj.Status.Phase == corev1.PodSucceeded || obj.Status.Phase == corev1.PodFailed {
		if obj.DeletionTimestamp != nil {
			p := k.newPod(obj)
			p.terminated = true
			k.pods[p.uid] = p
			k.deletePod(p)
		}
		return
	}
	p := k.newPod(obj)
	k.pods[p.uid] = p
	if obj.DeletionTimestamp != nil {
		p.terminated = true
		k.deletePod(p)
		return
	}
	if k.adopt(p, obj) {
		return
	}
	k.admit(p, time.Now())
}

func (k *Kubelet) newPod(obj *corev1.Pod) *pod {
	p := &pod{
		uid: obj.UID, namespace: obj.Namespace, name: obj.Name, generation: obj.Generation,
		restartPolicy: obj.Spec.RestartPolicy, hostNetwork: obj.Spec.HostNetwork,
		grace: 30 * time.Second,
	}
	if obj.Spec.TerminationGracePeriodSeconds != nil {
		p.grace = time.Duration(*obj.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	if obj.DeletionGracePeriodSeconds != nil {
		p.grace = time.Duration(*obj.DeletionGracePeriodSeconds) * time.Second
	}
	for _, c := range obj.Spec.InitContainers {
		p.init = append(p.init, container{name: c.Name, image: c.Image})
	}
	for _, c := range obj.Spec.Containers {
		p.main = append(p.main, container{name: c.Name, image: c.Image})
	}
	fault, err := k.env.cfg.faultFor(k.index, podSetting(obj, FaultKey))
	if err != nil {
		k.env.log.Warn("ignoring pod fault", zap.String("pod", obj.Namespace+"/"+obj.Name), zap.Error(err))
	}
	p.fault = fault
	if v := podSetting(obj, RunDurationKey); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			p.runFor = d
		} else {
			k.env.log.Warn("ignoring run duration", zap.String("pod", obj.Namespace+"/"+obj.Name), zap.String("value", v))
		}
	} else if p.restartPolicy != corev1.RestartPolicyAlways {
		p.runFor = k.env.cfg.JobRunTime.Sample()
	}
	p.probes = PodProbes{UID: string(obj.UID), Namespace: obj.Namespace, Name: obj.Name, Node: k.name}
	return p
}

// podSetting reads a hollowmark setting from the pod's annotations, or
// failing that its labels.
func podSetting(obj *corev1.Pod, key string) string {
	if v, ok := obj.Annotations[key]; ok {
		return v
	}
	return obj.Labels[key]
}

// adopt takes over a pod that already runs according to its status (the
// node pool restarted): there is nothing to start and nothing to report.
func (k *Kubelet) adopt(p *pod, obj *corev1.Pod) bool {
	st := obj.Status
	if st.Phase != corev1.PodRunning || st.PodIP == "" || len(st.ContainerStatuses) != len(p.main) {
		return false
	}
	for _, cs := range st.ContainerStatuses {
		if cs.State.Running == nil {
			return false
		}
	}
	ip, err := netip.ParseAddr(st.PodIP)
	if err != nil {
		return false
	}
	now := time.Now()
	p.phase, p.ip, p.startTime = corev1.PodRunning, ip, now
	if st.StartTime != nil {
		p.startTime = st.StartTime.Time
	}
	for i, cs := range st.ContainerStatuses {
		c := &p.main[i]
		c.phase, c.created, c.ready, c.restarts = running, true, cs.Ready, cs.RestartCount
		c.startedAt = cs.State.Running.StartedAt.Time
	}
	for i := range p.init {
		p.init[i].phase, p.init[i].created, p.init[i].reason = terminated, true, "Completed"
	}
	for i := range p.conds {
		p.conds[i] = condition{ok: true, at: p.startTime}
	}
	p.ipHeld = k.ips.mark(k.podCIDR, ip)
	p.recorded = true // we did not see it start; no probes to report
	return true
}

// admit starts a new pod: Pending with its containers being created, then a
// sandbox once the node has a pod CIDR.
func (k *Kubelet) admit(p *pod, now time.Time) {
	p.startTime = now
	p.probes.Seen = now
	p.phase = corev1.PodPending
	initReason := "ContainerCreating"
	if len(p.init) > 0 {
		initReason = "PodInitializing"
	}
	for i := range p.init {
		p.init[i].reason = "PodInitializing"
	}
	for i := range p.main {
		p.main[i].reason = initReason
	}
	for i := range p.conds {
		p.setCond(i, i == condInitialized && len(p.init) == 0, now)
	}
	k.transition("seen")
	k.syncStatus(p)
	if !p.hostNetwork && !k.podCIDR.IsValid() {
		k.waiting = append(k.waiting, p)
		return
	}
	k.createSandbox(p)
}

func (k *Kubelet) createSandbox(p *pod) {
	k.after(p, k.env.cfg.SandboxLatency.Sample(), func(now time.Time) { k.sandboxReady(p, now) })
}

func (k *Kubelet) sandboxReady(p *pod, now time.Time) {
	if p.hostNetwork {
		p.ip = netip.MustParseAddr(k.ip)
	} else {
		ip, ok := k.ips.allocate(k.podCIDR)
		if !ok {
			k.env.log.Warn("pod CIDR exhausted; retrying sandbox", zap.String("node", k.name), zap.String("pod", p.name))
			k.after(p, backoffInitial, func(now time.Time) { k.sandboxReady(p, now) })
			return
		}
		p.ip, p.ipHeld = ip, true
	}
	p.probes.SandboxReady = now
	p.setCond(condReadyToStart, true, now)
	k.transition("sandbox-ready")
	if len(p.init) > 0 {
		k.runInit(p, 0)
		return
	}
	k.startContainers(p, now)
}

// pullTime is how long getting c's image takes: nothing when the node has it.
func (k *Kubelet) pullTime(c *container) time.Duration {
	if k.env.cfg.hasImage(c.image) {
		return 0
	}
	return k.env.cfg.PullLatency.Sample()
}

// runInit runs init container i to completion, then the next one, then the
// app containers, reporting status after each as the kubelet does.
func (k *Kubelet) runInit(p *pod, i int) {
	c := &p.init[i]
	cfg := k.env.cfg
	k.after(p, k.pullTime(c)+cfg.StartLatency.Sample(), func(now time.Time) {
		c.phase, c.created, c.startedAt, c.reason = running, true, now, ""
		k.after(p, cfg.StartLatency.Sample(), func(now time.Time) {
			c.phase, c.finishedAt, c.reason, c.exitCode = terminated, now, "Completed", 0
			k.transition("init-completed")
			if i+1 < len(p.init) {
				k.syncStatus(p)
				k.runInit(p, i+1)
				return
			}
			p.setCond(condInitialized, true, now)
			for j := range p.main {
				p.main[j].reason = "ContainerCreating"
			}
			k.syncStatus(p)
			k.startContainers(p, now)
		})
	})
}

// startContainers pulls and starts the app containers one after another,
// as the kubelet's SyncPod does, and reports the pod running.
func (k *Kubelet) startContainers(p *pod, now time.Time) {
	cfg := k.env.cfg
	if p.fault == FaultImagePull {
		k.after(p, cfg.PullLatency.Sample(), func(now time.Time) { k.imagePullFailed(p, now) })
		return
	}
	var offset time.Duration
	starts := make([]time.Duration, len(p.main))
	for i := range p.main {
		offset += k.pullTime(&p.main[i]) + cfg.StartLatency.Sample()
		starts[i] = offset
	}
	k.after(p, offset, func(done time.Time) {
		for i := range p.main {
			c := &p.main[i]
			at := now.Add(starts[i])
			c.phase, c.created, c.startedAt, c.reason, c.message = running, true, at, "", ""
			c.ready = p.fault != FaultNeverReady
			p.probes.Containers = append(p.probes.Containers, ContainerProbe{Name: c.name, Started: at})
		}
		k.running(p, done)
	})
}

// running reports the pod Running and arms whatever ends its containers.
func (k *Kubelet) running(p *pod, now time.Time) {
	p.phase = corev1.PodRunning
	k.updateReadiness(p, now)
	if p.probes.Running.IsZero() {
		p.probes.Running = now
		k.syncStatus(p)
		p.runningVersion = p.version
	} else {
		k.syncStatus(p)
	}
	k.transition("running")
	switch {
	case p.fault == FaultCrashLoop || p.fault == FaultOOMKill:
		k.after(p, k.env.cfg.CrashAfter.Sample(), func(now time.Time) { k.crash(p, now) })
	case p.runFor > 0:
		k.after(p, p.runFor, func(now time.Time) { k.complete(p, now) })
	}
}

func (k *Kubelet) updateReadiness(p *pod, now time.Time) {
	ready := p.phase == corev1.PodRunning
	for _, c := range p.main {
		ready = ready && c.phase == running && c.ready
	}
	p.setCond(condContainersReady, ready, now)
	p.setCond(condReady, ready, now)
}

// crash ends the containers the way the injected fault does; they restart
// after the kubelet's back-off unless the restart policy says never.
func (k *Kubelet) crash(p *pod, now time.Time) {
	code, reason := int32(1), "Error"
	if p.fault == FaultOOMKill {
		code, reason = 137, "OOMKilled"
	}
	k.transition("crashed")
	for i := range p.main {
		c := &p.main[i]
		c.last = &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason,
			StartedAt: metav1.NewTime(c.startedAt), FinishedAt: metav1.NewTime(now), ContainerID: containerID(p, c)}
		c.ready = false
		if p.restartPolicy == corev1.RestartPolicyNever {
			c.phase, c.exitCode, c.reason, c.finishedAt = terminated, code, reason, now
			c.last = nil
			continue
		}
		c.phase, c.reason = waiting, "CrashLoopBackOff"
		c.message = fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)",
			restartBackoff(c.restarts), c.name, p.name, p.namespace, p.uid)
	}
	if p.restartPolicy == corev1.RestartPolicyNever {
		p.phase = corev1.PodFailed
		k.updateReadiness(p, now)
		k.syncStatus(p)
		k.releaseIP(p)
		return
	}
	k.updateReadiness(p, now)
	k.syncStatus(p)
	k.after(p, restartBackoff(p.main[0].restarts), func(now time.Time) {
		for i := range p.main {
			c := &p.main[i]
			c.restarts++
			c.phase, c.startedAt, c.reason, c.message, c.ready = running, now, "", "", true
		}
		k.running(p, now)
	})
}

// restartBackoff is the kubelet's container restart back-off after the
// given number of restarts: 10 s doubling to 5 minutes.
func restartBackoff(restarts int32) time.Duration {
	d := backoffInitial
	for range restarts {
		d *= 2
		if d >= backoffMax {
			return backoffMax
		}
	}
	return d
}

// imagePullFailed shows ErrImagePull, then ImagePullBackOff until the next
// attempt, which fails again.
func (k *Kubelet) imagePullFailed(p *pod, now time.Time) {
	k.transition("image-pull-failed")
	for i := range p.main {
		c := &p.main[i]
		c.reason = "ErrImagePull"
		c.message = fmt.Sprintf("failed to pull and unpack image %q: hollowmark injected an image pull error", c.image)
	}
	k.syncStatus(p)
	backoff := restartBackoff(int32(p.pullAttempts))
	p.pullAttempts++
	k.after(p, time.Second, func(time.Time) {
		for i := range p.main {
			c := &p.main[i]
			c.reason, c.message = "ImagePullBackOff", fmt.Sprintf("Back-off pulling image %q", c.image)
		}
		k.syncStatus(p)
		k.after(p, backoff, func(time.Time) {
			k.after(p, k.env.cfg.PullLatency.Sample(), func(now time.Time) { k.imagePullFailed(p, now) })
		})
	})
}

// complete ends a run-to-completion pod successfully.
func (k *Kubelet) complete(p *pod, now time.Time) {
	for i := range p.main {
		c := &p.main[i]
		c.phase, c.exitCode, c.reason, c.finishedAt, c.ready = terminated, 0, "Completed", now, false
	}
	p.phase = corev1.PodSucceeded
	p.setCond(condReadyToStart, false, now)
	k.updateReadiness(p, now)
	k.transition("succeeded")
	k.syncStatus(p)
	k.releaseIP(p)
}

// terminate honours a graceful deletion: containers stop within the grace
// period, the final status is reported, then the pod is deleted for good.
func (k *Kubelet) terminate(p *pod, obj *corev1.Pod) {
	if p.deleting {
		return
	}
	p.deleting = true
	if obj.DeletionGracePeriodSeconds != nil {
		p.grace = time.Duration(*obj.DeletionGracePeriodSeconds) * time.Second
	}
	if p.phase == corev1.PodSucceeded || p.phase == corev1.PodFailed {
		p.stopTimer()
		p.terminated = true
		k.deletePod(p)
		return
	}
	stop := min(k.env.cfg.StopLatency.Sample(), p.grace)
	k.after(p, stop, func(now time.Time) {
		failed := false
		for i := range p.main {
			c := &p.main[i]
			if c.phase == running {
				c.phase, c.exitCode, c.reason, c.finishedAt = terminated, 0, "Completed", now
			}
			c.ready = false
			failed = failed || c.phase != terminated || c.exitCode != 0
		}
		// A pod whose containers were stopped by deletion ends in a terminal
		// phase, whatever its restart policy.
		p.phase = corev1.PodSucceeded
		if failed {
			p.phase = corev1.PodFailed
		}
		p.setCond(condReadyToStart, false, now)
		k.updateReadiness(p, now)
		k.releaseIP(p)
		p.terminated = true
		k.transition("terminated")
		k.syncStatus(p)
	})
}

func (k *Kubelet) releaseIP(p *pod) {
	if p.ipHeld {
		k.ips.release(k.podCIDR, p.ip)
		p.ipHeld = false
	}
}

// forget drops a pod the API server no longer has.
func (k *Kubelet) forget(p *pod) {
	p.gone = true
	p.stopTimer()
	k.releaseIP(p)
	k.recordProbes(p)
	delete(k.pods, p.uid)
}

func (k *Kubelet) recordProbes(p *pod) {
	if p.recorded || p.probes.Seen.IsZero() || k.env.probes == nil {
		return
	}
	p.recorded = true
	k.env.probes.Record(p.probes)
}

// syncStatus is the kubelet's status manager: it reports the pod's latest
// status, one PATCH at a time per pod, merging changes made meanwhile.
// Callers hold k.mu.
func (k *Kubelet) syncStatus(p *pod) {
	p.version++
	if !p.inFlight && !p.gone {
		k.sendStatus(p)
	}
}

func (k *Kubelet) sendStatus(p *pod) {
	body, err := k.statusPatch(p)
	if err != nil {
		k.env.log.Error("encoding pod status", zap.String("pod", p.name), zap.Error(err))
		return
	}
	p.inFlight = true
	version := p.version
	k.client.Do(kubeapi.Call{Verb: "PATCH", Path: podPath(p) + "/status", ContentType: strategicMergePatch, Body: body},
		func(resp kubeapi.Response) { k.statusSent(p, version, resp) })
}

func (k *Kubelet) statusSent(p *pod, version int, resp kubeapi.Response) {
	k.mu.Lock()
	defer k.mu.Unlock()
	p.inFlight = false
	if k.stopped || p.gone {
		return
	}
	switch {
	case resp.Err == nil:
		if p.runningVersion > 0 && version >= p.runningVersion && p.probes.StatusPosted.IsZero() {
			p.probes.StatusPosted = time.Now()
			k.recordProbes(p)
		}
	case kubeapi.IsStatus(resp.Err, 404), kubeapi.IsStatus(resp.Err, 409):
		// The pod is gone or was replaced; its watch event will follow.
		return
	default:
		k.env.log.Debug("pod status update failed; retrying", zap.String("pod", p.namespace+"/"+p.name), zap.Error(resp.Err))
		time.AfterFunc(time.Second, func() {
			k.mu.Lock()
			defer k.mu.Unlock()
			if !k.stopped && !p.gone && !p.inFlight {
				k.sendStatus(p)
			}
		})
		return
	}
	switch {
	case p.version != version:
		k.sendStatus(p)
	case p.terminated:
		k.deletePod(p)
	}
}

// deletePod removes a pod whose containers have stopped, with grace period
// zero and a UID precondition, as the kubelet's status manager does.
func (k *Kubelet) deletePod(p *pod) {
	if p.deleteSent || p.inFlight {
		return
	}
	p.deleteSent = true
	body := fmt.Appendf(nil, `{"kind":"DeleteOptions","apiVersion":"v1","gracePeriodSeconds":0,"preconditions":{"uid":%q}}`, p.uid)
	k.client.Do(kubeapi.Call{Verb: "DELETE", Path: podPath(p), ContentType: kubeapi.ContentTypeJSON, Body: body}, func(resp kubeapi.Response) {
		if resp.Err == nil || kubeapi.IsStatus(resp.Err, 404) || kubeapi.IsStatus(resp.Err, 409) {
			k.transition("deleted")
			return
		}
		k.mu.Lock()
		defer k.mu.Unlock()
		p.deleteSent = false
		k.env.log.Debug("pod deletion failed; retrying", zap.String("pod", p.namespace+"/"+p.name), zap.Error(resp.Err))
		k.after(p, time.Second, func(time.Time) { k.deletePod(p) })
	})
}

func podPath(p *pod) string {
	return "/api/v1/namespaces/" + p.namespace + "/pods/" + p.name
}

// statusPatch is a strategic merge patch carrying the pod's whole status,
// guarded by the UID so it cannot land on a pod recreated with the name.
func (k *Kubelet) statusPatch(p *pod) ([]byte, error) {
	st := corev1.PodStatus{
		Phase:              p.phase,
		HostIP:             k.ip,
		HostIPs:            []corev1.HostIP{{IP: k.ip}},
		StartTime:          ptr.To(metav1.NewTime(p.startTime)),
		ObservedGeneration: p.generation,
	}
	if p.ip.IsValid() {
		st.PodIP = p.ip.String()
		st.PodIPs = []corev1.PodIP{{IP: st.PodIP}}
	}
	for i, t := range condTypes {
		c := corev1.PodCondition{Type: t, Status: corev1.ConditionFalse, LastTransitionTime: metav1.NewTime(p.conds[i].at), ObservedGeneration: p.generation}
		if p.conds[i].ok {
			c.Status = corev1.ConditionTrue
		} else {
			c.Reason, c.Message = p.condReason(i)
		}
		st.Conditions = append(st.Conditions, c)
	}
	for i := range p.init {
		st.InitContainerStatuses = append(st.InitContainerStatuses, containerStatus(p, &p.init[i]))
	}
	for i := range p.main {
		st.ContainerStatuses = append(st.ContainerStatuses, containerStatus(p, &p.main[i]))
	}
	return json.Marshal(struct {
		Metadata struct {
			UID types.UID `json:"uid"`
		} `json:"metadata"`
		Status corev1.PodStatus `json:"status"`
	}{Metadata: struct {
		UID types.UID `json:"uid"`
	}{UID: p.uid}, Status: st})
}

func (p *pod) condReason(i int) (reason, message string) {
	switch i {
	case condInitialized:
		return "ContainersNotInitialized", "containers with incomplete status: [" + names(p.init, func(c *container) bool { return c.phase != terminated }) + "]"
	case condReady, condContainersReady:
		if p.phase == corev1.PodSucceeded {
			return "PodCompleted", ""
		}
		return "ContainersNotReady", "containers with unready status: [" + names(p.main, func(c *container) bool { return !c.ready }) + "]"
	}
	return "", ""
}

func names(cs []container, pick func(*container) bool) string {
	var out []string
	for i := range cs {
		if pick(&cs[i]) {
			out = append(out, cs[i].name)
		}
	}
	return strings.Join(out, " ")
}

func containerStatus(p *pod, c *container) corev1.ContainerStatus {
	cs := corev1.ContainerStatus{Name: c.name, Image: c.image, Ready: c.ready, RestartCount: c.restarts}
	if c.created {
		cs.ImageID = imageID(c.image)
		cs.ContainerID = containerID(p, c)
	}
	switch c.phase {
	case waiting:
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: c.reason, Message: c.message}
		cs.Started = ptr.To(false)
	case running:
		cs.State.Running = &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(c.startedAt)}
		cs.Started = ptr.To(true)
	case terminated:
		cs.State.Terminated = &corev1.ContainerStateTerminated{ExitCode: c.exitCode, Reason: c.reason,
			StartedAt: metav1.NewTime(c.startedAt), FinishedAt: metav1.NewTime(c.finishedAt), ContainerID: cs.ContainerID}
		cs.Started = ptr.To(false)
	}
	if c.last != nil {
		cs.LastTerminationState.Terminated = c.last
	}
	return cs
}

// imageID is a stable fake digest reference for an image.
func imageID(image string) string {
	repo, _, _ := strings.Cut(image, ":")
	sum := sha256.Sum256([]byte(image))
	return repo + "@sha256:" + hex.EncodeToString(sum[:])
}

// containerID names one instance of a container: it changes on restart.
func containerID(p *pod, c *container) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s/%s/%d", p.uid, c.name, c.restarts))
	return "hollow://" + hex.EncodeToString(sum[:])
}
