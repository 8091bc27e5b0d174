package hollow

import (
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
)

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
		p.reconcile = k.needsReconcile(p, obj)
		return
	}
	if obj.Status.Phase == corev1.PodSucceeded || obj.Status.Phase == corev1.PodFailed {
		if obj.DeletionTimestamp != nil {
			// Finished before we knew it: only its deletion is left.
			p := k.newPod(obj)
			k.pods[p.uid] = p
			p.phase, p.deleting, p.terminated, p.asOnServer = obj.Status.Phase, true, true, true
			k.syncStatus(p)
		}
		return
	}
	p := k.newPod(obj)
	k.pods[p.uid] = p
	if obj.DeletionTimestamp != nil {
		// Deleted before it started: nothing to stop.
		p.phase, p.deleting, p.terminated = corev1.PodFailed, true, true
		p.startTime = k.env.clock.Now()
		k.syncStatus(p)
		return
	}
	if k.env.cfg.Fidelity == FidelityFull {
		k.registerObjects(p)
	}
	if k.boot > 0 && lostInReboot(obj) {
		k.restartAfterReboot(p, obj)
		return
	}
	if k.adopt(p, obj) {
		return
	}
	k.admit(p, k.env.clock.Now())
}
