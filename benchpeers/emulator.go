package benchpeers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/hollowmark/hollowmark/hollow"
)

// Emulator names, as --emulators takes them.
const (
	Hollowmark = "hollowmark"
	KWOK       = "kwok"
)

// Emulators are the known emulators, in the order a repeat runs them.
var Emulators = []string{Hollowmark, KWOK}

// Files in the binary directory besides the control plane's.
const (
	hollowmarkBinary = "hollowmark"
	kwokBinary       = "kwok"
	// kwokStages holds KWOK's default stages, as `make kwok` copies them
	// from the pinned module: node initialize, node heartbeat with lease,
	// pod ready, pod complete and pod delete, the "fast" stages kwokctl
	// writes into the configuration of every cluster it creates.
	kwokStages = "kwok-stages.yaml"
)

// KWOK's settings, as kwokctl gives them to the kwok it runs and as KWOK's
// documentation has users create Nodes: the annotation marks the Nodes it
// manages, and the lease duration turns on its node leases (renewed every
// quarter of it, as the kubelet does); without it, the heartbeat stage's
// ten-minute status updates would be the only heartbeat.
const (
	kwokNodeAnnotation = "kwok.x-k8s.io/node"
	kwokLeaseSeconds   = 40
	kwokNodePrefix     = "kwok-node-"
)

// emulatorEnv is what an emulator is started with.
type emulatorEnv struct {
	binDir     string
	dir        string // the run's directory for the emulator's files
	kubeconfig string // admin kubeconfig of the control plane
	client     kubernetes.Interface
	nodes      int
}

// startEmulator starts the named emulator and, for KWOK, creates its
// Nodes. The nodes are not yet Ready when it returns.
func startEmulator(ctx context.Context, name string, env emulatorEnv) (*child, error) {
	switch name {
	case Hollowmark:
		return startHollowmark(env)
	case KWOK:
		return startKWOK(ctx, env)
	}
	return nil, fmt.Errorf("unknown emulator %q", name)
}

// startHollowmark runs `hollowmark nodes` with its defaults (full
// fidelity). Next to the kubeconfig it finds the cluster's CA, so each node
// gets a certificate of its own, as each kubelet has. Its Nodes are kept
// when it stops: the control plane goes right after, and deleting a
// thousand Nodes would only slow the teardown.
func startHollowmark(env emulatorEnv) (*child, error) {
	runDir := filepath.Join(env.dir, "hollowmark")
	args := []string{"nodes", "--kubeconfig", env.kubeconfig, "--count", strconv.Itoa(env.nodes),
		"--run-dir", runDir, "--delete-nodes=false"}
	return startChild(Hollowmark, filepath.Join(env.binDir, hollowmarkBinary), args, nil, filepath.Join(env.dir, "emulator.log"))
}

// startKWOK runs kwok with its default stages against the control plane as
// kwokctl does (admin credentials, Nodes chosen by annotation, leases of
// 40 s), then creates the Nodes it is to manage. HOME is the run's own
// directory, so that no ~/.kwok/kwok.yaml on this machine joins the
// configuration.
func startKWOK(ctx context.Context, env emulatorEnv) (*child, error) {
	home := filepath.Join(env.dir, "kwok-home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, fmt.Errorf("creating KWOK's home: %w", err)
	}
	args := []string{"--kubeconfig", env.kubeconfig, "--config", filepath.Join(env.binDir, kwokStages),
		"--manage-all-nodes=false", "--manage-nodes-with-annotation-selector=" + kwokNodeAnnotation + "=fake",
		"--node-lease-duration-seconds=" + strconv.Itoa(kwokLeaseSeconds)}
	c, err := startChild(KWOK, filepath.Join(env.binDir, kwokBinary), args, []string{"HOME=" + home}, filepath.Join(env.dir, "emulator.log"))
	if err != nil {
		return nil, err
	}
	if err := createNodes(ctx, env.client, env.nodes); err != nil {
		return c, err
	}
	return c, nil
}

// nodeCreators is how many Nodes are created at once for KWOK: as many as
// hollowmark registers at once by default (--concurrency).
const nodeCreators = 64

// createNodes creates n KWOK Nodes, nodeCreators at a time.
func createNodes(ctx context.Context, client kubernetes.Interface, n int) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	errs := make(chan error, nodeCreators)
	var wg sync.WaitGroup
	for range min(nodeCreators, n) {
		wg.Go(func() {
			for i := range next {
				if _, err := client.CoreV1().Nodes().Create(ctx, kwokNode(i), metav1.CreateOptions{}); err != nil {
					errs <- fmt.Errorf("creating KWOK node %d: %w", i, err)
					cancel()
					return
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	close(errs)
	if err := errors.Join(collect(errs)...); err != nil {
		return err
	}
	return ctx.Err()
}

func collect(errs <-chan error) []error {
	var out []error
	for err := range errs {
		out = append(out, err)
	}
	return out
}

// kwokNode is the i-th Node for KWOK, as KWOK's documentation writes one
// (its annotation, a kubelet's labels), with what a hollow node reports
// about itself where it affects scheduling: capacity, allocatable, and the
// zone, region and instance type labels the scheduler's default topology
// spreading reads. Both emulators' pods are then placed by the same
// rules. No taint: the cluster has no real node to keep pods off.
func kwokNode(i int) *corev1.Node {
	cfg := hollow.DefaultNodeConfig()
	name := kwokNodePrefix + strconv.Itoa(i)
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:              cfg.CPU,
		corev1.ResourceMemory:           cfg.Memory,
		corev1.ResourceEphemeralStorage: cfg.EphemeralStorage,
		corev1.ResourcePods:             *resource.NewQuantity(cfg.MaxPods, resource.DecimalSI),
	}
	allocatable := capacity.DeepCopy()
	// As the hollow kubelet reports: its default eviction thresholds off.
	mem := cfg.Memory.DeepCopy()
	mem.Sub(resource.MustParse("100Mi"))
	allocatable[corev1.ResourceMemory] = mem
	allocatable[corev1.ResourceEphemeralStorage] = *resource.NewQuantity(cfg.EphemeralStorage.Value()/10*9, resource.BinarySI)
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: name,
			Annotations: map[string]string{
				kwokNodeAnnotation:             "fake",
				"node.alpha.kubernetes.io/ttl": "0",
			},
			Labels: map[string]string{
				"beta.kubernetes.io/arch":          "amd64",
				"beta.kubernetes.io/os":            "linux",
				"kubernetes.io/arch":               "amd64",
				"kubernetes.io/hostname":           name,
				"kubernetes.io/os":                 "linux",
				"kubernetes.io/role":               "agent",
				"node-role.kubernetes.io/agent":    "",
				"type":                             "kwok",
				"node.kubernetes.io/instance-type": cfg.InstanceType,
				"topology.kubernetes.io/region":    cfg.Region,
				"topology.kubernetes.io/zone":      cfg.Zones[i%len(cfg.Zones)],
			},
		},
		Status: corev1.NodeStatus{
			Capacity:    capacity,
			Allocatable: allocatable,
			// KWOK's node initialize stage fills in the rest, and the
			// conditions.
			NodeInfo: corev1.NodeSystemInfo{Architecture: "amd64", OperatingSystem: "linux"},
		},
	}
}
