package chaos

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// fakeNodes records what was done to them; a failed node is NotReady to
// the API only in the real cluster, so here it only must not be failed
// twice.
type fakeNodes struct {
	names []string
	down  map[string]bool
	t     *testing.T
}

func (f *fakeNodes) Names() []string { return f.names }
func (f *fakeNodes) FailNode(n string) error {
	if f.down[n] {
		f.t.Errorf("%s failed while down", n)
	}
	f.down[n] = true
	return nil
}
func (f *fakeNodes) RebootNode(_ context.Context, n string) error {
	if !f.down[n] {
		f.t.Errorf("%s rebooted while up", n)
	}
	f.down[n] = false
	return nil
}

func node(name string, ready bool, taint bool) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: status}}
	if taint {
		n.Spec.Taints = []corev1.Taint{{Key: "x", Effect: corev1.TaintEffectNoSchedule}}
	}
	return n
}

// run runs a killer over hollow-0…3 (hollow-3 tainted), another process's
// node and a NotReady one, until it has slept sleeps times; it returns the
// events and the sleeps asked for.
func run(t *testing.T, seed uint64, spec NodeFailure, sleeps int) ([]Event, []time.Duration, *fakeNodes) {
	client := fake.NewClientset(node("hollow-0", true, false), node("hollow-1", true, false), node("hollow-2", true, false),
		node("hollow-3", true, true), node("hollow-4", false, false), node("theirs", true, false))
	nodes := &fakeNodes{names: []string{"hollow-0", "hollow-1", "hollow-2", "hollow-3", "hollow-4"}, down: map[string]bool{}, t: t}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var asked []time.Duration
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	k := &Killer{Spec: spec, Nodes: nodes, Client: client, Rand: rand.New(rand.NewPCG(seed, 0)), Log: zap.NewNop(),
		Now: func() time.Time { return clock },
		Sleep: func(ctx context.Context, d time.Duration) bool {
			asked = append(asked, d)
			clock = clock.Add(d)
			if len(asked) >= sleeps {
				cancel()
				return false
			}
			return true
		}}
	k.Run(ctx)
	return k.Events(), asked, nodes
}

func TestNodeFailures(t *testing.T) {
	spec := NodeFailure{FailureRate: 0.5, Interval: 5 * time.Minute, JitterFactor: 2, SimulatedDowntime: 10 * time.Minute}
	for _, tc := range []struct {
		name   string
		sleeps int
		// failed per round: ceil(0.5 × 3) of the 3 candidates, then
		// ceil(0.5 × 1) of the one left, then none.
		events int
	}{
		{"ended while waiting for the first failure", 1, 0},
		{"ended during the first downtime: rebooted anyway", 2, 4},
		{"two rounds", 4, 6},
		{"every candidate failed once", 7, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			events, asked, nodes := run(t, 1, spec, tc.sleeps)
			if len(events) != tc.events {
				t.Fatalf("%d events, want %d: %+v", len(events), tc.events, events)
			}
			failed := map[string]int{}
			for _, e := range events {
				if e.Action == StopServices {
					failed[e.Node]++
				}
				if !slices.Contains([]string{"hollow-0", "hollow-1", "hollow-2"}, e.Node) {
					t.Errorf("%s failed: not a Ready, untainted node of ours", e.Node)
				}
			}
			for n, c := range failed {
				if c != 1 {
					t.Errorf("%s failed %d times", n, c)
				}
			}
			for n, down := range nodes.down {
				if down {
					t.Errorf("%s left down", n)
				}
			}
			// Jittered intervals and the downtime alternate while there are
			// nodes to fail (two rounds); then only intervals.
			for i, d := range asked {
				if i == 1 || i == 3 {
					if d != spec.SimulatedDowntime {
						t.Errorf("sleep %d: %v, want the downtime", i, d)
					}
				} else if d < spec.Interval || d > 3*spec.Interval {
					t.Errorf("sleep %d: %v, want within [5m, 15m]", i, d)
				}
			}
			if len(events) >= 4 && (events[0].Action != StopServices || events[2].Action != RebootNode || !events[2].Time.Equal(events[0].Time.Add(spec.SimulatedDowntime))) {
				t.Errorf("first round %+v: want two stops, then two reboots after the downtime", events[:4])
			}
		})
	}
}

// The same seed fails the same nodes at the same times; another seed, in
// general, others.
func TestNodeFailuresFollowTheSeed(t *testing.T) {
	spec := NodeFailure{FailureRate: 0.3, Interval: time.Minute, SimulatedDowntime: time.Minute}
	a, _, _ := run(t, 7, spec, 6)
	b, _, _ := run(t, 7, spec, 6)
	if !slices.Equal(a, b) {
		t.Errorf("same seed:\n%+v\n%+v", a, b)
	}
	differs := false
	for seed := range uint64(10) {
		c, _, _ := run(t, 100+seed, spec, 6)
		differs = differs || !slices.Equal(a, c)
	}
	if !differs {
		t.Error("ten other seeds all failed the same nodes at the same times")
	}
}

// A jitter factor of 0 jitters by up to the whole interval, as CL2's
// wait.Jitter does.
func TestJitterFactorZeroMeansOne(t *testing.T) {
	k := &Killer{Spec: NodeFailure{Interval: time.Minute}, Rand: rand.New(rand.NewPCG(1, 2))}
	longest := time.Duration(0)
	for range 200 {
		d := k.jitter()
		if d < time.Minute || d > 2*time.Minute {
			t.Fatalf("jitter %v outside [1m, 2m]", d)
		}
		longest = max(longest, d)
	}
	if longest < 90*time.Second {
		t.Errorf("200 draws all below %v: the factor is not 1", longest)
	}
}
