package hollow

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"

	"github.com/hollowmark/hollowmark/internal/kubeapi"
)

const strategicMergePatch = "application/strategic-merge-patch+json"

// env is what all nodes of a pool share.
type env struct {
	cfg     *NodeConfig
	codec   *kubeapi.Codec
	metrics *Metrics
	probes  ProbeSink
	log     *zap.Logger
	ctx     context.Context
	clock   clock
	// clusterCIDRFallback is where nodes take a pod CIDR from when the
	// cluster assigns none.
	clusterCIDRFallback netip.Prefix
}

// Kubelet is one hollow kubelet.
type Kubelet struct {
	env   *env
	name  string
	index int
	ip    string
	// boot counts the node's reboots: after one the runtime has lost the
	// containers of the pods still bound to it.
	boot int
	// bootReported: a status report has carried this boot's ID.
	bootReported bool
	client       apiClient
	// events posts through its own rate limit, as the kubelet's event
	// recorder does; nil when the fidelity is lean.
	events apiClient

	mu         sync.Mutex
	uid        types.UID
	podCIDR    netip.Prefix
	ips        ipAllocator
	pods       map[types.UID]*pod
	waiting    []*pod // admitted before the pod CIDR was known
	lease      leaseState
	lastReport time.Time
	// reportDelay shifts the next periodic status report after a change.
	reportDelay time.Duration
	// conditionsSince is when the node's pressure conditions last changed:
	// they are healthy from registration on, and move only when someone
	// else (the node lifecycle controller) has changed them on the server.
	conditionsSince time.Time
	// overwritten are the conditions of ours that the server's Node, as
	// the node watch last showed it, holds otherwise: the next status tick
	// reports ours, as the kubelet's tryUpdateNodeStatus does when its
	// lister's Node differs from what it would set.
	overwritten []corev1.NodeConditionType
	// ready is the Ready condition, true since readySince.
	ready        bool
	readySince   time.Time
	timers       [4]timer // lease, status, pod CIDR fallback, ready
	watches      []watcher
	registered   bool
	stopped      bool
	readyCounted bool
	// nodeGone is what the kubelet's Node lister would say: our Node was
	// deleted. A kubelet registers once (registrationCompleted), so it
	// stays gone, and each status tick reads the Node from the API server.
	nodeGone bool

	// The status manager's queue: one pod's sync at a time.
	statusQueue []*pod
	statusBusy  bool
	// ConfigMaps and Secrets watched for the pods that use them.
	objectWatches map[objectRef]*objectWatch
}

func newKubelet(e *env, name string, index int, client, events apiClient) *Kubelet {
	return &Kubelet{env: e, name: name, index: index, ip: nodeIP(index), client: client, events: events,
		pods: map[types.UID]*pod{}, objectWatches: map[objectRef]*objectWatch{}}
}

// nodeIP gives node index an address in 127.0.0.0/8. Nothing listens
// there; a loopback address keeps anything that dials a node (the API
// server proxying logs, say) on this machine.
func nodeIP(index int) string {
	n := index + 1<<16 // skip 127.0.x.x
	return fmt.Sprintf("127.%d.%d.%d", (n>>16)&255, (n>>8)&255, n&255)
}

// hostNetworkIP is the address hostNetwork pods of node index get. On a
// real node it is the node's own; a hollow node's is on loopback, which
// EndpointSlices refuse ("may not be in the loopback range"), so such pods
// get one from 198.18.0.0/15, the range set aside for benchmarks (RFC 2544):
// valid for endpoints, routed nowhere, and not among the node's addresses,
// so the API server never dials it for the node.
func hostNetworkIP(index int) netip.Addr {
	base := netip.MustParseAddr("198.18.0.0").As4()
	n := binary.BigEndian.Uint32(base[:]) + uint32(index%(1<<17)) + 1
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], n)
	return netip.AddrFrom4(b)
}

// register creates the Node (or adopts an existing one) and starts the
// node's heartbeats and watches. It returns once the Node exists.
func (k *Kubelet) register(ctx context.Context) error {
	full := k.env.cfg.Fidelity == FidelityFull
	k.mu.Lock()
	// A starting kubelet registers NotReady; the lean one skips that step.
	k.ready, k.readySince, k.lease.createFirst = !full, k.env.clock.Now(), !full
	node := k.nodeObject(k.env.clock.Now())
	k.mu.Unlock()
	body, err := k.env.codec.Encode(node, corev1.SchemeGroupVersion)
	if err != nil {
		return fmt.Errorf("encoding node %s: %w", k.name, err)
	}
	if full {
		// The CSI plugin's start-up looks for the Node before it exists.
		k.call(ctx, kubeapi.Call{Verb: "GET", Path: "/api/v1/nodes/" + k.name})
	}
	// A repeated create meets 409, handled here: safe to resend when a
	// lost connection leaves its outcome unknown.
	resp := k.call(ctx, kubeapi.Call{Verb: "POST", Path: "/api/v1/nodes", ContentType: kubeapi.ContentTypeProtobuf, Body: body, Unthrottled: true, Idempotent: true})
	if kubeapi.IsStatus(resp.Err, 409) {
		resp = k.call(ctx, kubeapi.Call{Verb: "GET", Path: "/api/v1/nodes/" + k.name, Unthrottled: true})
	}
	if resp.Err != nil {
		return fmt.Errorf("registering node %s: %w", k.name, resp.Err)
	}
	obj, err := k.env.codec.Decode(resp.Body)
	if err != nil {
		return fmt.Errorf("reading node %s: %w", k.name, err)
	}
	node, ok := obj.(*corev1.Node)
	if !ok {
		return fmt.Errorf("registering node %s: server returned %T", k.name, obj)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stopped {
		return context.Canceled
	}
	k.uid = node.UID
	k.setPodCIDR(node.Spec.PodCIDR)
	k.registered = true
	k.lastReport = k.env.clock.Now()
	k.reportDelay = statusReportDelay()
	k.env.metrics.nodesRegistered.Inc()
	if full {
		k.startupRequests()
	}
	k.syncLeaseLocked(k.env.clock.Now())
	k.scheduleStatusLocked()
	if !k.podCIDR.IsValid() {
		k.timers[2] = k.env.clock.Tick(podCIDRWait, k.podCIDRFallback)
	}
	k.startWatchesLocked()
	return nil
}

// call runs one API call and waits for it.
func (k *Kubelet) call(ctx context.Context, c kubeapi.Call) kubeapi.Response {
	done := make(chan kubeapi.Response, 1)
	k.client.Do(c, func(r kubeapi.Response) { done <- r })
	select {
	case r := <-done:
		return r
	case <-ctx.Done():
		return kubeapi.Response{Err: ctx.Err()}
	}
}

func jittered(d time.Duration) time.Duration {
	return d + time.Duration(rand.Float64()*jitter*float64(d))
}

func (k *Kubelet) nodeObject(now time.Time) *corev1.Node {
	cfg := k.env.cfg
	zone := cfg.Zones[k.index%len(cfg.Zones)]
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: k.name,
			Labels: map[string]string{
				"kubernetes.io/hostname":           k.name,
				"kubernetes.io/os":                 "linux",
				"kubernetes.io/arch":               "amd64",
				"beta.kubernetes.io/os":            "linux",
				"beta.kubernetes.io/arch":          "amd64",
				"node.kubernetes.io/instance-type": cfg.InstanceType,
				"topology.kubernetes.io/region":    cfg.Region,
				"topology.kubernetes.io/zone":      zone,
				"hollowmark.io/hollow-node":        "true",
			},
			Annotations: map[string]string{
				"node.alpha.kubernetes.io/ttl":                           "0",
				"volumes.kubernetes.io/controller-managed-attach-detach": "true",
			},
		},
		Status: k.nodeStatus(now),
	}
	return node
}

func (k *Kubelet) nodeStatus(now time.Time) corev1.NodeStatus {
	cfg := k.env.cfg
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:              cfg.CPU,
		corev1.ResourceMemory:           cfg.Memory,
		corev1.ResourceEphemeralStorage: cfg.EphemeralStorage,
		corev1.ResourcePods:             *resourceInt(cfg.MaxPods),
		"hugepages-1Gi":                 *resourceInt(0),
		"hugepages-2Mi":                 *resourceInt(0),
	}
	allocatable := capacity.DeepCopy()
	// The kubelet's default hard eviction thresholds come off allocatable.
	mem := cfg.Memory.DeepCopy()
	mem.Sub(resource.MustParse("100Mi"))
	allocatable[corev1.ResourceMemory] = mem
	storage := cfg.EphemeralStorage.DeepCopy()
	storage.Set(storage.Value() / 10 * 9)
	allocatable[corev1.ResourceEphemeralStorage] = storage

	images := make([]corev1.ContainerImage, 0, max(len(cfg.Images), cfg.StatusImages))
	for _, im := range cfg.Images {
		images = append(images, corev1.ContainerImage{Names: []string{imageID(im), im}, SizeBytes: imageSize(im)})
	}
	for i := len(images); i < cfg.StatusImages; i++ {
		im := fmt.Sprintf("registry.hollowmark.invalid/node-image-%02d:v1.%d.0", i, i)
		images = append(images, corev1.ContainerImage{Names: []string{imageID(im), im}, SizeBytes: imageSize(im)})
	}
	ids := stableID(k.name)
	return corev1.NodeStatus{
		Capacity:    capacity,
		Allocatable: allocatable,
		Conditions:  k.nodeConditions(now),
		RuntimeHandlers: []corev1.NodeRuntimeHandler{
			{Name: "", Features: &corev1.NodeRuntimeHandlerFeatures{RecursiveReadOnlyMounts: ptr.To(true), UserNamespaces: ptr.To(true)}},
			{Name: "runc", Features: &corev1.NodeRuntimeHandlerFeatures{RecursiveReadOnlyMounts: ptr.To(true), UserNamespaces: ptr.To(true)}},
		},
		Features: &corev1.NodeFeatures{SupplementalGroupsPolicy: ptr.To(true)},
		// What a v1.36 kubelet declares with its default feature gates.
		DeclaredFeatures: []string{"ExtendWebSocketsToKubelet", "InPlacePodLevelResourcesVerticalScaling",
			"InPlacePodVerticalScalingInitContainers", "RestartAllContainersOnContainerExits"},
		Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: k.ip},
			{Type: corev1.NodeHostName, Address: k.name},
		},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: 10250}},
		NodeInfo: corev1.NodeSystemInfo{
			MachineID:               ids,
			SystemUUID:              ids[:8] + "-" + ids[8:12] + "-" + ids[12:16] + "-" + ids[16:20] + "-" + ids[20:32],
			BootID:                  bootID(ids, k.name, k.boot),
			KernelVersion:           "6.1.0-hollow",
			OSImage:                 "hollowmark hollow node",
			ContainerRuntimeVersion: "hollow://" + cfg.KubeletVersion,
			KubeletVersion:          cfg.KubeletVersion,
			OperatingSystem:         "linux",
			Architecture:            "amd64",
		},
		Images: images,
	}
}

// imageSize is a made-up but stable size for an image.
func imageSize(image string) int64 { return 300_000 + int64(hash32(image)%100_000)*1000 }

// nodeConditions are the node's conditions with their heartbeat now: no
// pressure since registration, and Ready once the runtime is up.
func (k *Kubelet) nodeConditions(now time.Time) []corev1.NodeCondition {
	if k.conditionsSince.IsZero() {
		k.conditionsSince = now
	}
	heartbeat := metav1.NewTime(now)
	cond := func(typ corev1.NodeConditionType, status corev1.ConditionStatus, since time.Time, reason, msg string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: typ, Status: status, Reason: reason, Message: msg, LastHeartbeatTime: heartbeat, LastTransitionTime: metav1.NewTime(since)}
	}
	ready := cond(corev1.NodeReady, corev1.ConditionTrue, k.readySince, "KubeletReady", "kubelet is posting ready status")
	if !k.ready {
		ready = cond(corev1.NodeReady, corev1.ConditionFalse, k.readySince, "KubeletNotReady", "container runtime status check may not have completed yet")
	}
	return []corev1.NodeCondition{
		cond(corev1.NodeMemoryPressure, corev1.ConditionFalse, k.conditionsSince, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
		cond(corev1.NodeDiskPressure, corev1.ConditionFalse, k.conditionsSince, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
		cond(corev1.NodePIDPressure, corev1.ConditionFalse, k.conditionsSince, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
		ready,
	}
}

// stableID derives 64 hex digits from a node name, so the node's machine,
// system and boot IDs survive restarts of the pool.
func stableID(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:])
}

// bootID is the node's boot ID: the same across restarts of the pool, a
// new one after each reboot, as the kernel gives.
func bootID(ids, name string, boot int) string {
	if boot == 0 {
		return ids[32:]
	}
	return stableID(fmt.Sprintf("%s/boot/%d", name, boot))[32:]
}

// startWatchesLocked opens the kubelet's node-level watches.
func (k *Kubelet) startWatchesLocked() {
	k.watches = k.nodeWatches()
	for _, w := range k.watches {
		w.Start()
	}
}

// stop ends the node's activity. Its Node stays: a kubelet may not delete
// it (see DeleteNodes).
func (k *Kubelet) stop() {
	k.mu.Lock()
	if k.stopped {
		k.mu.Unlock()
		return
	}
	k.stopped = true
	for _, t := range k.timers {
		if t != nil {
			t.Stop()
		}
	}
	for _, p := range k.pods {
		p.stopTimer()
		p.stopTokenRefresh()
	}
	watches := k.watches
	for _, w := range k.objectWatches {
		watches = append(watches, w.lw)
	}
	registered, ready := k.registered, k.readyCounted
	k.mu.Unlock()
	for _, w := range watches {
		w.Stop()
	}
	if registered {
		k.env.metrics.nodesRegistered.Dec()
	}
	if ready {
		k.env.metrics.nodesReady.Dec()
	}
}

// nodeHandler follows the kubelet's own Node: the pod CIDR the controller
// manager assigns arrives here.
type nodeHandler struct{ k *Kubelet }

func (h nodeHandler) Replace(items []runtime.Object) {
	if len(items) == 0 {
		h.k.mu.Lock()
		h.k.nodeGone = h.k.registered
		h.k.mu.Unlock()
	}
	for _, it := range items {
		h.Event(watch.Modified, it)
	}
}

func (h nodeHandler) Event(t watch.EventType, obj runtime.Object) {
	node, ok := obj.(*corev1.Node)
	if !ok {
		return
	}
	k := h.k
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.nodeGone = t == watch.Deleted; k.nodeGone {
		return
	}
	k.uid = node.UID
	k.setPodCIDR(node.Spec.PodCIDR)
	if k.registered && !k.stopped {
		k.overwritten = overwrittenConditions(node.Status.Conditions, k.nodeConditions(k.env.clock.Now()))
	}
}

func (h nodeHandler) Failed(error) { h.k.env.metrics.watchFailures.WithLabelValues("kubelet").Inc() }

// countingHandler stands for watches whose content a hollow node does not
// use; the watch itself is the load being emulated.
type countingHandler struct {
	m         *Metrics
	component string
}

func (countingHandler) ObjectsUnused()                        {}
func (countingHandler) Replace([]runtime.Object)              {}
func (countingHandler) Event(watch.EventType, runtime.Object) {}
func (h countingHandler) Failed(error)                        { h.m.watchFailures.WithLabelValues(h.component).Inc() }

func resourceInt(v int64) *resource.Quantity { return resource.NewQuantity(v, resource.DecimalSI) }

func hash32(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}

// podCIDRWait is how long a node waits for the controller manager to
// assign a pod CIDR before it picks one itself.
const podCIDRWait = 10 * time.Second

func (k *Kubelet) podCIDRFallback() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stopped || k.podCIDR.IsValid() {
		return
	}
	k.env.log.Debug("no pod CIDR assigned; using a derived one", zap.String("node", k.name))
	base := k.env.clusterCIDRFallback.Addr().As4()
	slot := binary.BigEndian.Uint32(base[:]) + uint32(hash32(k.name)%16384)<<8
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], slot)
	k.setPodCIDR(netip.PrefixFrom(netip.AddrFrom4(b), 24).String())
}
