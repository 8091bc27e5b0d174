package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"go.uber.org/zap"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/hollowmark/hollowmark/chaos"
	"github.com/hollowmark/hollowmark/hollow"
	"github.com/hollowmark/hollowmark/results"
	"github.com/hollowmark/hollowmark/scenarios"
)

// checkChaos refuses node failures where there are no hollow nodes of
// ours to fail: an attached cluster's own nodes are not ours to stop.
func checkChaos(sc *scenarios.Scenario, hollowNodes int) error {
	if sc.Chaos == nil || sc.Chaos.NodeFailure == nil || hollowNodes > 0 {
		return nil
	}
	return errors.New("the scenario's chaos.nodeFailure fails hollow nodes this process runs, and this run starts none " +
		"(--nodes 0): the cluster's own nodes are not ours to stop; give --nodes N or drop the node failures")
}

// startNodeFailures fails the pool's nodes as the scenario says until the
// returned stop is called; stop waits for the reboots still owed and
// returns what was done. Without node failures in the scenario it does
// nothing.
func startNodeFailures(ctx context.Context, sc *scenarios.Scenario, pool *hollow.Running, cfg *rest.Config, seed uint64, log *zap.Logger) (func() []results.NodeFailureEvent, error) {
	if sc.Chaos == nil || sc.Chaos.NodeFailure == nil {
		return func() []results.NodeFailureEvent { return nil }, nil
	}
	if pool == nil {
		return nil, checkChaos(sc, 0)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating client: %w", err)
	}
	nf := sc.Chaos.NodeFailure
	k := &chaos.Killer{
		Spec: chaos.NodeFailure{FailureRate: nf.FailureRate, Interval: time.Duration(nf.Interval),
			JitterFactor: nf.JitterFactor, SimulatedDowntime: time.Duration(nf.SimulatedDowntime)},
		Nodes: pool.Pool, Client: client, Log: log,
		// Its own stream of the run's seed: the tuning sets draw theirs.
		Rand: rand.New(rand.NewPCG(seed, 0x6368616f73)),
	}
	log.Info("node failures on", zap.Float64("failureRate", nf.FailureRate), zap.Duration("interval", k.Spec.Interval),
		zap.Float64("jitterFactor", nf.JitterFactor), zap.Duration("simulatedDowntime", k.Spec.SimulatedDowntime))
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		k.Run(ctx)
	}()
	return func() []results.NodeFailureEvent {
		cancel()
		<-done
		var out []results.NodeFailureEvent
		for _, e := range k.Events() {
			out = append(out, results.NodeFailureEvent{Time: e.Time, Action: e.Action, Node: e.Node})
		}
		return out
	}, nil
}
