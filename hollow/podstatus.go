package hollow

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// kubeletConditions are the pod conditions the kubelet owns; the others
// (PodScheduled, DisruptionTarget, readiness gates) belong to other
// components and are kept as the server has them.
var kubeletConditions = map[corev1.PodConditionType]bool{
	corev1.PodReadyToStartContainers: true, corev1.PodInitialized: true, corev1.PodReady: true,
	corev1.ContainersReady: true, corev1.PodResizePending: true, corev1.PodResizeInProgress: true,
}

// ownStatus is the kubelet's status of p as it is now: what one version of
// the status manager's cache holds. nil means the server's status stands
// (a pod that finished before this kubelet knew it).
func (k *Kubelet) ownStatus(p *pod) *corev1.PodStatus {
	if p.asOnServer {
		return nil
	}
	st := &corev1.PodStatus{}
	st.Phase = p.phase
	st.HostIP, st.HostIPs = k.ip, []corev1.HostIP{{IP: k.ip}}
	st.StartTime = ptr.To(metav1.NewTime(p.startTime))
	st.ObservedGeneration = p.generation
	st.PodIP, st.PodIPs = "", nil
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
	st.InitContainerStatuses, st.ContainerStatuses = nil, nil
	for i := range p.init {
		st.InitContainerStatuses = append(st.InitContainerStatuses, containerStatus(p, &p.init[i]))
	}
	for i := range p.main {
		st.ContainerStatuses = append(st.ContainerStatuses, containerStatus(p, &p.main[i]))
	}
	return st
}

// mergeStatus lays own, the kubelet's status, over old, the server's, as
// the status manager's mergePodStatus does: fields the kubelet does not own
// (QoS class, nominated node, resource claims, others' conditions) stay.
func mergeStatus(old corev1.PodStatus, own *corev1.PodStatus) corev1.PodStatus {
	if own == nil {
		return old
	}
	st := old
	st.Phase, st.HostIP, st.HostIPs, st.StartTime = own.Phase, own.HostIP, own.HostIPs, own.StartTime
	st.ObservedGeneration, st.PodIP, st.PodIPs = own.ObservedGeneration, own.PodIP, own.PodIPs
	st.InitContainerStatuses, st.ContainerStatuses = own.InitContainerStatuses, own.ContainerStatuses
	st.Conditions = nil
	for _, c := range old.Conditions {
		if !kubeletConditions[c.Type] {
			st.Conditions = append(st.Conditions, c)
		}
	}
	st.Conditions = append(st.Conditions, own.Conditions...)
	return st
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
	cs := corev1.ContainerStatus{Name: c.name, Image: c.image, Ready: c.ready, RestartCount: c.restarts, VolumeMounts: c.mounts}
	if c.created {
		cs.ImageID = imageID(c.image)
		cs.ContainerID = containerID(p, c)
		// What a v1.36 kubelet reports of a created container: its
		// resources (in-place resize is GA) and the user it runs as.
		cs.Resources = c.resources
		if c.resources != nil {
			cs.AllocatedResources = c.resources.Requests
		}
		cs.User = &corev1.ContainerUser{Linux: &corev1.LinuxContainerUser{SupplementalGroups: []int64{0}}}
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

// needsReconcile says whether the server's status of p, as its watch shows
// it, lost what the status manager last put there: the status manager's
// needsReconcile, which its periodic batch checks for every pod whose
// latest version was sent. Only what someone else can overwrite is
// compared: the phase and the kubelet's conditions' status, reason and
// message (its isPodStatusByKubeletEqual; times are kept to the second on
// the server).
func (k *Kubelet) needsReconcile(p *pod, server *corev1.Pod) bool {
	if p.asOnServer || p.gone || p.queued || p.syncedVersion < p.version {
		return false
	}
	if server.Status.Phase != p.phase {
		return true
	}
	for i, t := range condTypes {
		want := corev1.ConditionFalse
		var reason, message string
		if p.conds[i].ok {
			want = corev1.ConditionTrue
		} else {
			reason, message = p.condReason(i)
		}
		c := podCondition(server.Status.Conditions, t)
		if c == nil || c.Status != want || c.Reason != reason || c.Message != message {
			return true
		}
	}
	return false
}

func podCondition(conds []corev1.PodCondition, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range conds {
		if conds[i].Type == t {
			return &conds[i]
		}
	}
	return nil
}
