package hollow

import (
	"fmt"
	"net/netip"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
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
	isInit          bool
	last            *corev1.ContainerStateTerminated
	// From the spec, for the status: the kubelet reports mounts and
	// resources back.
	mounts    []corev1.VolumeMountStatus
	resources *corev1.ResourceRequirements
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

	timer timer
	epoch int // invalidates timers that fired while being stopped

	// deleting: the pod has a deletion timestamp; terminated: its
	// containers are gone (the kubelet's "pod is finished").
	deleting, terminated, gone bool

	// status manager: version counts changes, runningVersion is the first
	// that reported Running; queued means waiting for the node's status
	// sync; lastSent is what the lean kubelet last sent (the full one reads
	// the server's status instead).
	version, runningVersion int
	queued                  bool
	lastSent                []byte
	// syncedVersion is the latest version known to be on the server;
	// reconcile: with it there, the pod watch showed the server's status
	// otherwise (the node lifecycle controller's Ready=False when the node
	// went NotReady), so the next periodic batch syncs it again.
	syncedVersion int
	reconcile     bool
	// asOnServer: the pod finished before this kubelet knew it, so its
	// status is the server's, not ours.
	asOnServer bool

	// What mounting needs: the ConfigMaps and Secrets it refers to, its
	// projected service-account tokens and their refresh timers.
	objects        []objectRef
	tokens         []tokenSource
	tokenGot       []bool
	tokenRefresh   []timer
	serviceAccount string
	mountsPending  int
	mountStart     time.Time
	mountFailures  int

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
	p.timer = k.env.clock.AfterFunc(d, func() {
		k.mu.Lock()
		defer k.mu.Unlock()
		if k.stopped || p.gone || p.epoch != epoch {
			return
		}
		p.timer = nil
		step(k.env.clock.Now())
	})
}

func (k *Kubelet) transition(to string) { k.env.metrics.podTransitions.WithLabelValues(to).Inc() }

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
		p.init = append(p.init, newContainer(&c, true))
	}
	for _, c := range obj.Spec.Containers {
		p.main = append(p.main, newContainer(&c, false))
	}
	if k.env.cfg.Fidelity == FidelityFull {
		p.objects, p.tokens = volumeRefs(obj)
		p.tokenGot = make([]bool, len(p.tokens))
		p.serviceAccount = obj.Spec.ServiceAccountName
		if p.serviceAccount == "" {
			p.serviceAccount = "default"
		}
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

func newContainer(spec *corev1.Container, isInit bool) container {
	c := container{name: spec.Name, image: spec.Image, isInit: isInit}
	for _, m := range spec.VolumeMounts {
		st := corev1.VolumeMountStatus{Name: m.Name, MountPath: m.MountPath, ReadOnly: m.ReadOnly}
		if m.ReadOnly {
			st.RecursiveReadOnly = ptr.To(corev1.RecursiveReadOnlyDisabled)
		}
		c.mounts = append(c.mounts, st)
	}
	if len(spec.Resources.Requests) > 0 || len(spec.Resources.Limits) > 0 {
		c.resources = spec.Resources.DeepCopy()
	}
	return c
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
	now := k.env.clock.Now()
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

// lostInReboot says whether obj ran before its node rebooted: its status
// shows a started container, which the rebooted runtime no longer has.
func lostInReboot(obj *corev1.Pod) bool {
	for _, cs := range obj.Status.ContainerStatuses {
		if cs.State.Running != nil || cs.LastTerminationState.Terminated != nil {
			return true
		}
	}
	return false
}

// restartAfterReboot starts again a pod whose containers the reboot took:
// each container that was running counts one restart more and shows the
// lost one as its last termination, and the pod keeps its start time and
// stays Running while its new sandbox and containers start, as the
// kubelet's convertToAPIContainerStatuses and getPhase report it. It is not
// a pod start, so it records no probes.
func (k *Kubelet) restartAfterReboot(p *pod, obj *corev1.Pod) {
	old := make(map[string]corev1.ContainerStatus, len(obj.Status.ContainerStatuses))
	for _, cs := range obj.Status.ContainerStatuses {
		old[cs.Name] = cs
	}
	for i := range p.main {
		c := &p.main[i]
		cs, ok := old[c.name]
		if !ok {
			continue
		}
		c.restarts, c.last = cs.RestartCount, cs.LastTerminationState.Terminated
		if cs.State.Running != nil {
			c.restarts++
			c.last = &corev1.ContainerStateTerminated{Reason: "ContainerStatusUnknown", ExitCode: 137,
				Message: "The container could not be located when the pod was deleted.  The container used to be Running"}
		}
	}
	now := k.env.clock.Now()
	p.phase, p.startTime, p.recorded = corev1.PodRunning, now, true
	if obj.Status.StartTime != nil {
		p.startTime = obj.Status.StartTime.Time
	}
	k.transition("restarted-after-reboot")
	k.start(p, now)
}

// admit starts a new pod: Pending with its containers being created, then a
// sandbox once the node has a pod CIDR.
func (k *Kubelet) admit(p *pod, now time.Time) {
	p.startTime = now
	p.probes.Seen = now
	p.phase = corev1.PodPending
	k.transition("seen")
	k.start(p, now)
}

// start reports p's containers being created and sets up its volumes,
// then its sandbox.
func (k *Kubelet) start(p *pod, now time.Time) {
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
	k.syncStatus(p)
	k.mountVolumes(p)
}

func (k *Kubelet) createSandbox(p *pod) {
	k.after(p, k.env.cfg.SandboxLatency.Sample(), func(now time.Time) { k.sandboxReady(p, now) })
}

func (k *Kubelet) sandboxReady(p *pod, now time.Time) {
	if p.hostNetwork {
		p.ip = hostNetworkIP(k.index)
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
	// The kubelet's next sync, on the sandbox's PLEG event, reports it.
	k.syncStatus(p)
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
	pull := k.pullTime(c)
	k.after(p, pull+cfg.StartLatency.Sample(), func(now time.Time) {
		c.phase, c.created, c.startedAt, c.reason = running, true, now, ""
		k.containerEvents(p, c, pull)
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
	pulls := make([]time.Duration, len(p.main))
	for i := range p.main {
		pulls[i] = k.pullTime(&p.main[i])
		offset += pulls[i] + cfg.StartLatency.Sample()
		starts[i] = offset
	}
	k.after(p, offset, func(done time.Time) {
		for i := range p.main {
			c := &p.main[i]
			at := now.Add(starts[i])
			c.phase, c.created, c.startedAt, c.reason, c.message = running, true, at, "", ""
			c.ready = p.fault != FaultNeverReady
			p.probes.Containers = append(p.probes.Containers, ContainerProbe{Name: c.name, Started: at})
			k.containerEvents(p, c, pulls[i])
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
		k.syncStatus(p)
		return
	}
	for i := range p.main {
		if c := &p.main[i]; c.phase == running {
			k.event(podTarget(p, c), corev1.EventTypeNormal, "Killing", "Stopping container "+c.name)
		}
	}
	stop := min(k.env.cfg.StopLatency.Sample(), p.grace)
	k.after(p, stop, func(now time.Time) {
		for i := range p.main {
			c := &p.main[i]
			if c.phase == running {
				c.phase, c.exitCode, c.reason, c.finishedAt = terminated, 0, "Completed", now
			}
			c.ready = false
		}
		p.setCond(condReadyToStart, false, now)
		k.updateReadiness(p, now)
		k.transition("terminated")
		// The phase stays until the pod is cleaned up: the kubelet's
		// SyncTerminatingPod reports the stopped containers, then
		// SyncTerminatedPod, once the volumes are down, the terminal phase.
		k.syncStatus(p)
		k.after(p, volumeTeardown, func(time.Time) { k.finishTermination(p) })
	})
}

// volumeTeardown is how long after its containers stop the kubelet sees a
// pod's volumes gone: the volume manager takes them down within its 100 ms
// loops, and SyncTerminatedPod's WaitForUnmount polls every 300 ms, the
// first time at once, so the second poll finds them gone.
const volumeTeardown = 300 * time.Millisecond

// finishTermination reports a deleted pod's terminal phase; its status
// sync then deletes it.
func (k *Kubelet) finishTermination(p *pod) {
	failed := false
	for _, c := range p.main {
		failed = failed || c.phase != terminated || c.exitCode != 0
	}
	// A pod whose containers were stopped by deletion ends in a terminal
	// phase, whatever its restart policy.
	p.phase = corev1.PodSucceeded
	if failed {
		p.phase = corev1.PodFailed
	}
	k.releaseIP(p)
	p.stopTokenRefresh()
	p.terminated = true
	k.syncStatus(p)
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
	p.stopTokenRefresh()
	k.unregisterObjects(p)
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
