// Command reference measures a real kubelet v1.36.3 as the reference for
// the hollow nodes' request mix: the kubelet built from the pinned module
// (bin/kubelet), with containerd and runc from Debian, joins a fresh
// embedded control plane and runs the request-mix check's workload
// (hollow/requestmix_test.go); the API server's request counters give the
// rows of docs/fidelity.md's expected table. With --hollow (the default)
// one hollow node runs the same workload on a second, concurrent control
// plane, so the table reads expected, real kubelet, hollow side by side.
//
// It needs root, containerd, runc and the CNI plugins; `make reference`
// installs them, builds what it needs and runs it. Everything it creates
// is under its work directory (a mount namespace covers the paths
// containerd and the kubelet hard-code), but the kubepods cgroups and the
// bridge hmref0, which it removes at the end.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/hollowmark/hollowmark/controlplane"
	"github.com/hollowmark/hollowmark/hollow"
	"github.com/hollowmark/hollowmark/internal/realnode"
	"github.com/hollowmark/hollowmark/internal/requestmix"
)

func main() {
	stamp := time.Now().Format("20060102-150405")
	var (
		binDir     = flag.String("bin-dir", "bin", "directory with the control-plane binaries, kubelet and pause")
		workDir    = flag.String("work-dir", filepath.Join("runs", "reference-"+stamp), "work directory: control planes, containerd, kubelet, logs")
		outDir     = flag.String("out", filepath.Join("results", "reference-"+stamp), "results directory: table.md, table.csv, phases.json")
		expected   = flag.String("expected", filepath.Join("docs", "fidelity.md"), "file with the expected table")
		pods       = flag.Int("pods", 20, "pods started and deleted on the real node (and on the hollow one)")
		idle       = flag.Duration("idle", 6*time.Minute, "idle window")
		settle     = flag.Duration("settle", time.Minute, "wait after the control plane starts, before the baseline: its start-up burst is not a rate")
		baseline   = flag.Duration("baseline", time.Minute, "control plane alone, measured and subtracted at its rate")
		withHollow = flag.Bool("hollow", true, "also measure one hollow node on a second control plane, concurrently")
		hollowCSV  = flag.String("hollow-csv", "", "take the hollow column from this table.csv (of an earlier run) instead of measuring")
	)
	flag.Parse()
	if err := reference(*binDir, *workDir, *outDir, *expected, *pods, *settle, *idle, *baseline, *withHollow && *hollowCSV == "", *hollowCSV); err != nil {
		log.Printf("reference: %v", err)
		os.Exit(2)
	}
}

func reference(binDir, workDir, outDir, expectedPath string, pods int, settle, idle, baseline time.Duration, withHollow bool, hollowCSV string) error {
	begin := time.Now()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	f, err := os.Open(expectedPath)
	if err != nil {
		return fmt.Errorf("reading the expected table: %w", err)
	}
	expected, err := requestmix.ParseExpectations(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", expectedPath, err)
	}
	if binDir, err = filepath.Abs(binDir); err != nil {
		return err
	}
	if workDir, err = filepath.Abs(workDir); err != nil {
		return err
	}
	if err := realnode.CheckHost(binDir, realnode.ReferenceNetwork); err != nil {
		return err
	}
	if err := os.MkdirAll(workDir, 0o700); err != nil {
		return fmt.Errorf("creating work directory: %w", err)
	}
	log.Printf("work directory %s", workDir)
	w := workload{pods: pods, settle: settle, baseline: baseline, idle: idle}

	var hollowRows map[string]float64
	if hollowCSV != "" {
		if hollowRows, err = readColumn(hollowCSV, "hollow"); err != nil {
			return err
		}
	}
	var (
		wg                   sync.WaitGroup
		real, holl           requestmix.Phases
		realErr, hollErr     error
		realTook, hollowTook time.Duration
	)
	if withHollow {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.Now()
			holl, hollErr = measureHollow(ctx, w, binDir, filepath.Join(workDir, "hollow"))
			hollowTook = time.Since(t)
		}()
	}
	t := time.Now()
	real, realErr = measureReal(ctx, w, binDir, filepath.Join(workDir, "real"))
	realTook = time.Since(t)
	wg.Wait()
	if err := errors.Join(realErr, hollErr); err != nil {
		return err
	}

	realResults, err := real.Check(expected)
	if err != nil {
		return fmt.Errorf("%s: %w", expectedPath, err)
	}
	rep := report{Pods: pods, Idle: idle, Real: real, RealResults: realResults, RealTook: realTook}
	if withHollow {
		if rep.HollowResults, err = holl.Check(expected); err != nil {
			return fmt.Errorf("%s: %w", expectedPath, err)
		}
		rep.Hollow, rep.HollowTook, rep.HaveHollow = holl, hollowTook, true
	} else if hollowRows != nil {
		for _, e := range expected {
			if v, ok := hollowRows[e.Phase+"|"+e.Request]; ok {
				rep.HollowResults = append(rep.HollowResults, requestmix.Result{Expectation: e, Got: v})
			}
		}
		rep.HaveHollow = len(rep.HollowResults) == len(expected)
		if !rep.HaveHollow {
			return fmt.Errorf("%s lacks some rows of %s", hollowCSV, expectedPath)
		}
	}
	if err := rep.write(outDir); err != nil {
		return err
	}
	fmt.Print(rep.markdown())
	fmt.Printf("\nresults: %s (took %s)\n", outDir, time.Since(begin).Round(time.Second))
	return nil
}

// measureReal runs the workload against one real kubelet on a fresh control
// plane, and tears both down.
func measureReal(ctx context.Context, w workload, binDir, dir string) (_ requestmix.Phases, err error) {
	logf := prefixed("real")
	w.logf = logf
	cp, err := startControlPlane(ctx, binDir, filepath.Join(dir, "controlplane"))
	if err != nil {
		return requestmix.Phases{}, fmt.Errorf("real kubelet: %w", err)
	}
	node := &realnode.Node{Name: "reference-node", Work: dir, BinDir: binDir, Logf: logf, Net: realnode.ReferenceNetwork}
	defer func() {
		if err != nil {
			deletePods(cp, logf)
		}
		logf("cleaning up")
		if stopErr := node.Stop(); stopErr != nil {
			err = errors.Join(err, fmt.Errorf("real kubelet clean-up: %w", stopErr))
		}
		if stopErr := cp.Stop(); stopErr != nil {
			err = errors.Join(err, fmt.Errorf("stopping the real kubelet's control plane: %w", stopErr))
		}
	}()
	p, err := w.measure(ctx, cp, nodes{count: 1, start: func(ctx context.Context) error { return node.Start(ctx, cp) }, alive: node.Exited})
	if err != nil {
		return p, fmt.Errorf("real kubelet (logs in %s): %w", filepath.Join(dir, "logs"), err)
	}
	return p, nil
}

// measureHollow runs the workload against one full-fidelity hollow node
// (with its kube-proxy) on a fresh control plane.
func measureHollow(ctx context.Context, w workload, binDir, dir string) (_ requestmix.Phases, err error) {
	logf := prefixed("hollow")
	w.logf = logf
	cp, err := startControlPlane(ctx, binDir, filepath.Join(dir, "controlplane"))
	if err != nil {
		return requestmix.Phases{}, fmt.Errorf("hollow node: %w", err)
	}
	var pool *hollow.Pool
	defer func() {
		if err != nil {
			deletePods(cp, logf)
		}
		if pool != nil {
			pool.Stop()
		}
		if stopErr := cp.Stop(); stopErr != nil {
			err = errors.Join(err, fmt.Errorf("stopping the hollow node's control plane: %w", stopErr))
		}
	}()
	start := func(ctx context.Context) error {
		creds, err := hollow.CredentialsFromConfig(cp.Config, cp.Authority)
		if err != nil {
			return fmt.Errorf("hollow node credentials: %w", err)
		}
		// As hollow/requestmix_test.go starts its nodes.
		pool, err = hollow.StartPool(ctx, creds, hollow.PoolConfig{Count: 1, Shards: 1, NamePrefix: "mix-", Concurrency: 8,
			Node: hollow.DefaultNodeConfig(), PerNodeProxyConnections: true}, hollow.NewMetrics(), nil, zap.NewNop(), nil)
		if err != nil {
			return fmt.Errorf("starting the hollow node: %w", err)
		}
		return nil
	}
	p, err := w.measure(ctx, cp, nodes{count: 1, start: start})
	if err != nil {
		return p, fmt.Errorf("hollow node: %w", err)
	}
	return p, nil
}

func startControlPlane(ctx context.Context, binDir, runDir string) (*controlplane.ControlPlane, error) {
	cp, err := controlplane.Start(ctx, controlplane.Options{RunDir: runDir, BinDir: binDir, Nodes: 1, EtcdUnsafeNoFsync: true})
	if err != nil {
		return nil, fmt.Errorf("starting the control plane in %s: %w", runDir, err)
	}
	return cp, nil
}

func prefixed(name string) func(string, ...any) {
	return func(format string, args ...any) { log.Printf(name+": "+format, args...) }
}
