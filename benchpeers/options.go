package benchpeers

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/hollowmark/hollowmark/controlplane"
	"github.com/hollowmark/hollowmark/hollow"
)

// Options configure the benchmark. Validate names a bad one by its flag.
type Options struct {
	// Emulators run in this order in every repeat.
	Emulators []string
	Repeats   int
	Nodes     int
	// Pods are created as Deployments of Pods/Deployments replicas each
	// (the first take the remainder).
	Pods int
	// OutDir receives the results; RunDir the control planes' and
	// emulators' files (credentials, logs), one directory per run.
	OutDir, RunDir string
	// BinDir holds the control plane's binaries, hollowmark, kwok and
	// kwok-stages.yaml.
	BinDir            string
	EtcdUnsafeNoFsync bool
	// Settle is the pause after the nodes are Ready, before Idle, the
	// window over which idle CPU is measured.
	Settle, Idle time.Duration
	// NodesTimeout bounds the wait for the nodes to be Ready; PodsTimeout
	// the wait for the pods to run, and that for them to be gone.
	NodesTimeout, PodsTimeout time.Duration
	// Interval is the timeline's sampling period.
	Interval time.Duration
	Logger   *zap.Logger
}

// Deployments is how many Deployments carry the pods.
const Deployments = 10

// Validate checks the options and that the binaries they need are there.
func (o *Options) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if len(o.Emulators) == 0 {
		bad("--emulators: name at least one of %s", strings.Join(Emulators, ", "))
	}
	for i, e := range o.Emulators {
		switch {
		case !slices.Contains(Emulators, e):
			bad("--emulators: unknown emulator %q (known: %s)", e, strings.Join(Emulators, ", "))
		case slices.Index(o.Emulators, e) != i:
			bad("--emulators: %s is named twice", e)
		}
	}
	if o.Repeats < 1 {
		bad("--repeats must be at least 1, got %d", o.Repeats)
	}
	if o.Nodes < 1 {
		bad("--nodes must be at least 1, got %d", o.Nodes)
	}
	if maxPods := hollow.DefaultNodeConfig().MaxPods; o.Pods < 1 || int64(o.Pods) > int64(o.Nodes)*maxPods {
		bad("--pods must be between 1 and what the nodes hold (%d per node, %d for --nodes %d), got %d",
			maxPods, int64(o.Nodes)*maxPods, o.Nodes, o.Pods)
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
		min  time.Duration
	}{{"--settle", o.Settle, 0}, {"--idle", o.Idle, time.Second}, {"--nodes-timeout", o.NodesTimeout, time.Second},
		{"--pods-timeout", o.PodsTimeout, time.Second}, {"--interval", o.Interval, 100 * time.Millisecond}} {
		if d.v < d.min {
			bad("%s must be at least %s, got %s", d.flag, d.min, d.v)
		}
	}
	if o.OutDir == "" || o.RunDir == "" {
		bad("--out and --run-dir must not be empty")
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return o.checkBinaries()
}

// checkBinaries says what to build when a binary is missing, before any
// control plane starts.
func (o *Options) checkBinaries() error {
	need := map[string]string{
		controlplane.Etcd: "make build", controlplane.APIServer: "make build",
		controlplane.Scheduler: "make build", controlplane.ControllerManager: "make build",
	}
	if slices.Contains(o.Emulators, Hollowmark) {
		need[hollowmarkBinary] = "make hollowmark"
	}
	if slices.Contains(o.Emulators, KWOK) {
		need[kwokBinary], need[kwokStages] = "make kwok", "make kwok"
	}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(need)) {
		path := filepath.Join(o.BinDir, name)
		if info, err := os.Stat(path); err != nil || info.IsDir() {
			errs = append(errs, fmt.Errorf("%s is missing: run `%s` (or `make bench-peers`), or pass --bin-dir", path, need[name]))
		}
	}
	return errors.Join(errs...)
}

// replicas splits pods over the Deployments, the first taking the
// remainder; with fewer pods than Deployments, one pod each.
func replicas(pods int) []int {
	n := min(Deployments, pods)
	out := make([]int, n)
	for i := range out {
		out[i] = pods / n
		if i < pods%n {
			out[i]++
		}
	}
	return out
}
