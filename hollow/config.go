// Package hollow runs hollow nodes: kubelets and kube-proxies that talk to
// the API server as real ones do (registration, leases, node status, their
// own watches, pod status) while a fake runtime "runs" the pods.
//
// Thousands of nodes share one process. A node owns no goroutine: its
// connection's reader delivers watch events, the pool's timer wheel drives
// heartbeats, and precise timers the fake runtime, so an idle node costs
// only its state.
package hollow

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
)

// Kubelet timings of v1.36 defaults.
const (
	leaseDuration          = 40 * time.Second
	leaseRenewInterval     = 10 * time.Second // a quarter of the duration
	nodeStatusUpdatePeriod = 10 * time.Second
	nodeStatusReportPeriod = 5 * time.Minute
	kubeletQPS             = 50
	kubeletBurst           = 100
	// jitter spreads periodic work the way wait.JitterUntil does in the
	// kubelet's lease controller.
	jitter = 0.04
	// Back-off of restarting containers and pulling images.
	backoffInitial = 10 * time.Second
	backoffMax     = 5 * time.Minute
)

// Annotation (or label) keys a pod can carry to steer its hollow kubelet.
const (
	// FaultKey injects a failure: one of the Fault values.
	FaultKey = "hollowmark.io/fault"
	// RunDurationKey makes a pod's containers exit successfully after the
	// given duration; pods that never restart default to NodeConfig.JobRunTime.
	RunDurationKey = "hollowmark.io/run-duration"
)

// Fault is a failure the fake runtime can inject.
type Fault string

// Faults, with the status a real kubelet shows for each.
const (
	NoFault         Fault = ""
	FaultImagePull  Fault = "image-pull-error" // waiting: ErrImagePull, then ImagePullBackOff
	FaultCrashLoop  Fault = "crash-loop"       // exits 1 after start; CrashLoopBackOff
	FaultOOMKill    Fault = "oom-kill"         // killed with 137 OOMKilled; CrashLoopBackOff
	FaultNeverReady Fault = "never-ready"      // running, readiness never passes
)

// ParseFault checks a fault name.
func ParseFault(s string) (Fault, error) {
	switch f := Fault(s); f {
	case NoFault, FaultImagePull, FaultCrashLoop, FaultOOMKill, FaultNeverReady:
		return f, nil
	}
	return "", fmt.Errorf("unknown fault %q (want %s, %s, %s or %s)", s, FaultImagePull, FaultCrashLoop, FaultOOMKill, FaultNeverReady)
}

// NodeConfig is what every node of a pool looks like and how its fake
// runtime behaves.
type NodeConfig struct {
	CPU, Memory, EphemeralStorage resource.Quantity
	MaxPods                       int64
	InstanceType, Region          string
	Zones                         []string
	// Images are reported as present on the node; pulling them is free.
	Images []string
	// StatusImages is how many images the node lists in its status: Images
	// first, then stand-ins up to this count. A real node lists up to 50,
	// which makes its Node object 5-15 KB; the size is load on the API
	// server and on every watcher of nodes.
	StatusImages int

	SandboxLatency Latency // creating the pod sandbox and its network
	PullLatency    Latency // pulling an image not on the node
	StartLatency   Latency // starting one container
	StopLatency    Latency // stopping one container (capped by the grace period)
	CrashAfter     Latency // how long a crash-looping container runs
	JobRunTime     Latency // how long containers of never-restarting pods run

	// Fault applies to every pod on the faulty nodes; pods may carry their
	// own FaultKey instead.
	Fault Fault
	// FaultyNodeFraction picks the faulty nodes: the first fraction of every
	// hundred node indices. 1 means all.
	FaultyNodeFraction float64

	// KubeletVersion is reported in the node's status.
	KubeletVersion string

	// Fidelity says how much of a real kubelet's API traffic the nodes
	// make: all of it, or only the lean core (see Fidelity).
	Fidelity Fidelity
}

// Fidelity is how closely hollow nodes copy a real node's API traffic.
type Fidelity string

const (
	// FidelityFull makes every request kubelet and kube-proxy v1.36 make:
	// a GET before each pod status patch, events, service-account tokens,
	// per-object ConfigMap and Secret watches, the node-level watches and
	// the registration steps (docs/fidelity.md lists them).
	FidelityFull Fidelity = "full"
	// FidelityLean keeps only registration, leases, node status, the pod,
	// node and service watches and pod status patches: cheaper nodes and
	// about half the per-pod load of real ones.
	FidelityLean Fidelity = "lean"
)

// ParseFidelity checks a fidelity name.
func ParseFidelity(s string) (Fidelity, error) {
	switch f := Fidelity(s); f {
	case FidelityFull, FidelityLean:
		return f, nil
	}
	return "", fmt.Errorf("unknown fidelity %q (want %s or %s)", s, FidelityFull, FidelityLean)
}

// DefaultNodeConfig is a 4-core, 16 GiB node with a fast runtime.
func DefaultNodeConfig() NodeConfig {
	return NodeConfig{
		CPU:                resource.MustParse("4"),
		Memory:             resource.MustParse("16Gi"),
		EphemeralStorage:   resource.MustParse("100Gi"),
		MaxPods:            110,
		InstanceType:       "hollow-4c16g",
		Region:             "hollow-region",
		Zones:              []string{"hollow-zone-a", "hollow-zone-b", "hollow-zone-c"},
		Images:             []string{"registry.k8s.io/pause:3.10"},
		StatusImages:       25,
		SandboxLatency:     uniform{50 * time.Millisecond, 150 * time.Millisecond},
		PullLatency:        uniform{500 * time.Millisecond, 2 * time.Second},
		StartLatency:       uniform{20 * time.Millisecond, 60 * time.Millisecond},
		StopLatency:        uniform{10 * time.Millisecond, 100 * time.Millisecond},
		CrashAfter:         constant(time.Second),
		JobRunTime:         constant(5 * time.Second),
		FaultyNodeFraction: 1,
		KubeletVersion:     "v1.36.3",
		Fidelity:           FidelityFull,
	}
}

// faultFor says which fault a pod gets on node index, if any.
func (c *NodeConfig) faultFor(index int, podFault string) (Fault, error) {
	if podFault != "" {
		return ParseFault(strings.TrimSpace(podFault))
	}
	if c.Fault == NoFault || float64(index%100) >= c.FaultyNodeFraction*100 {
		return NoFault, nil
	}
	return c.Fault, nil
}

// hasImage reports whether image is pre-pulled on the nodes.
func (c *NodeConfig) hasImage(image string) bool { return slices.Contains(c.Images, image) }
