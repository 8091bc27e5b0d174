package hollow

import (
	"math/rand/v2"
	"net/url"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hollowmark/hollowmark/internal/kubeapi"
)

// runtimeReadyAfter is how long a starting kubelet reports NotReady: its
// runtime and PLEG checks pass about a second after start, and the fast
// status update at start-up reports Ready at once.
const runtimeReadyAfter = time.Second

// What a v1.36 kubelet does at start-up besides creating its Node, in
// full fidelity: its CSINode (GET, then create), the clean-up of its
// node's DRA ResourceSlices, the node events, and the node-level watches.
// Callers hold k.mu.
func (k *Kubelet) startupRequests() {
	path := "/apis/storage.k8s.io/v1/csinodes/" + k.name
	k.client.Do(kubeapi.Call{Verb: "GET", Path: path}, func(resp kubeapi.Response) {
		if kubeapi.IsStatus(resp.Err, 404) {
			k.createCSINode()
		}
	})
	k.client.Do(kubeapi.Call{Verb: "DELETECOLLECTION", Path: "/apis/resource.k8s.io/v1/resourceslices",
		Query: url.Values{"fieldSelector": {"spec.nodeName=" + k.name}}}, func(resp kubeapi.Response) {
		if resp.Err != nil {
			k.env.log.Debug("deleting the node's resource slices", zap.String("node", k.name), zap.Error(resp.Err))
		}
	})
	node := k.nodeTarget()
	k.event(node, corev1.EventTypeNormal, "Starting", "Starting kubelet.")
	// The kubelet builds its initial node object three times before its
	// informer has the Node, recording the pressure events each time; the
	// repeats go out as patches of the first.
	for _, reason := range []string{"NodeHasSufficientMemory", "NodeHasNoDiskPressure", "NodeHasSufficientPID"} {
		name, ns := k.event(node, corev1.EventTypeNormal, reason, "Node "+k.name+" status is now: "+reason)
		k.repeatEvent(name, ns, 2)
		k.repeatEvent(name, ns, 3)
	}
	k.event(node, corev1.EventTypeNormal, "NodeAllocatableEnforced", "Updated Node Allocatable limit across pods")
	k.timers[3] = k.env.clock.Tick(runtimeReadyAfter+rand.N(runtimeReadyAfter), k.becomeReady)
}

func (k *Kubelet) createCSINode() {
	k.mu.Lock()
	csi := &storagev1.CSINode{
		ObjectMeta: metav1.ObjectMeta{Name: k.name,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: k.name, UID: k.uid}}},
		Spec: storagev1.CSINodeSpec{Drivers: []storagev1.CSINodeDriver{}},
	}
	k.mu.Unlock()
	body, err := k.env.codec.Encode(csi, storagev1.SchemeGroupVersion)
	if err != nil {
		k.env.log.Error("encoding CSINode", zap.Error(err))
		return
	}
	k.client.Do(kubeapi.Call{Verb: "POST", Path: "/apis/storage.k8s.io/v1/csinodes", ContentType: kubeapi.ContentTypeProtobuf, Body: body},
		func(resp kubeapi.Response) {
			if resp.Err != nil && !kubeapi.IsStatus(resp.Err, 409) {
				k.env.log.Debug("creating CSINode", zap.String("node", k.name), zap.Error(resp.Err))
			}
		})
}

// becomeReady turns the node Ready and reports it, as the kubelet's fast
// status update does once the runtime is up.
func (k *Kubelet) becomeReady() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stopped || k.ready {
		return
	}
	k.ready = true
	k.readySince = k.env.clock.Now()
	k.reportStatusLocked(true, k.readySince)
	k.event(k.nodeTarget(), corev1.EventTypeNormal, "NodeReady", "Node "+k.name+" status is now: NodeReady")
}

// nodeWatches are the kubelet's own watches: its pods and its Node, and,
// for pods' environment and volumes, Services with a cluster IP (full
// fidelity; all Services when lean), RuntimeClasses and CSIDrivers.
func (k *Kubelet) nodeWatches() []watcher {
	c := k.client
	ws := []watcher{
		c.Watch("/api/v1/pods", url.Values{"fieldSelector": {"spec.nodeName=" + k.name}}, 0, podHandler{k}),
		c.Watch("/api/v1/nodes", url.Values{"fieldSelector": {"metadata.name=" + k.name}}, 0, nodeHandler{k}),
	}
	counting := countingHandler{k.env.metrics, "kubelet"}
	if k.env.cfg.Fidelity == FidelityLean {
		return append(ws, c.Watch("/api/v1/services", nil, 0, counting))
	}
	return append(ws,
		c.Watch("/api/v1/services", url.Values{"fieldSelector": {"spec.clusterIP!=None"}}, 0, counting),
		c.Watch("/apis/node.k8s.io/v1/runtimeclasses", nil, 0, counting),
		c.Watch("/apis/storage.k8s.io/v1/csidrivers", nil, 0, counting),
	)
}

// statusReportDelay is the kubelet's one-off shift of the next periodic
// node status report after a change, uniform within ±half the period, so
// that nodes started together do not report together.
func statusReportDelay() time.Duration {
	return time.Duration(float64(nodeStatusReportPeriod) * (rand.Float64() - 0.5))
}
