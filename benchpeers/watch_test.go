package benchpeers

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func node(name string, ready corev1.ConditionStatus, reason string) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if ready != "" {
		n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse},
			{Type: corev1.NodeReady, Status: ready, Reason: reason}}
	}
	return n
}

func TestNodeTrackerCountsTransitionsFromReady(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)
	type event struct {
		phase string
		node  *corev1.Node
	}
	for _, tc := range []struct {
		name      string
		events    []event
		wantReady int
		want      []Transition
	}{
		{"registering NotReady then Ready is no transition", []event{
			{phaseStart, node("a", corev1.ConditionFalse, "KubeletNotReady")},
			{phaseStart, node("a", corev1.ConditionTrue, "KubeletReady")},
			{phaseStart, node("b", "", "")},
		}, 1, nil},
		{"a lease missed in the pod run, then back", []event{
			{phaseStart, node("a", corev1.ConditionTrue, "")},
			{phaseStart, node("b", corev1.ConditionTrue, "")},
			{phasePods, node("a", corev1.ConditionUnknown, "NodeStatusUnknown")},
			{phasePods, node("a", corev1.ConditionUnknown, "NodeStatusUnknown")},
			{phaseDeletion, node("a", corev1.ConditionTrue, "KubeletReady")},
			{phaseDeletion, node("b", corev1.ConditionFalse, "KubeletNotReady")},
		}, 1, []Transition{
			{At: t0.Add(2 * time.Second), Node: "a", Status: corev1.ConditionUnknown, Reason: "NodeStatusUnknown", Phase: phasePods},
			{At: t0.Add(5 * time.Second), Node: "b", Status: corev1.ConditionFalse, Reason: "KubeletNotReady", Phase: phaseDeletion},
		}},
		{"losing the condition counts", []event{
			{phaseIdle, node("a", corev1.ConditionTrue, "")},
			{phaseIdle, node("a", "", "")},
		}, 0, []Transition{{At: t0.Add(time.Second), Node: "a", Status: corev1.ConditionUnknown, Phase: phaseIdle}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newNodeTracker()
			for i, e := range tc.events {
				tr.setPhase(e.phase)
				tr.observe(e.node, t0.Add(time.Duration(i)*time.Second))
			}
			if got := tr.readyNodes(); got != tc.wantReady {
				t.Errorf("%d Ready, want %d", got, tc.wantReady)
			}
			got := tr.transitionsSince(time.Time{})
			if len(got) != len(tc.want) {
				t.Fatalf("transitions %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("transition %d: %+v, want %+v", i, got[i], tc.want[i])
				}
			}
			if late := tr.transitionsSince(t0.Add(time.Hour)); len(late) != 0 {
				t.Errorf("transitions after the last event: %+v", late)
			}
		})
	}
}

func TestNodeTrackerForgetsDeletedNodes(t *testing.T) {
	tr := newNodeTracker()
	tr.observe(node("a", corev1.ConditionTrue, ""), time.Now())
	tr.forget("a")
	tr.observe(node("a", corev1.ConditionFalse, ""), time.Now())
	if n := len(tr.transitionsSince(time.Time{})); n != 0 || tr.readyNodes() != 0 {
		t.Errorf("a deleted and re-created node: %d transitions, %d Ready", n, tr.readyNodes())
	}
}

func pod(uid, nodeName string, phase corev1.PodPhase) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{UID: types.UID(uid)}, Spec: corev1.PodSpec{NodeName: nodeName},
		Status: corev1.PodStatus{Phase: phase}}
}

func TestPodTracker(t *testing.T) {
	type event struct {
		p      *corev1.Pod
		delete bool
	}
	for _, tc := range []struct {
		name   string
		events []event
		want   podCounts
	}{
		{"created, bound, running", []event{
			{p: pod("a", "", corev1.PodPending)},
			{p: pod("b", "", corev1.PodPending)},
			{p: pod("a", "n1", corev1.PodPending)},
			{p: pod("a", "n1", corev1.PodRunning)},
			{p: pod("a", "n1", corev1.PodRunning)},
		}, podCounts{Created: 2, Bound: 1, Running: 1, Existing: 2}},
		{"first seen bound and running (a relist)", []event{{p: pod("a", "n1", corev1.PodRunning)}},
			podCounts{Created: 1, Bound: 1, Running: 1, Existing: 1}},
		{"deleted while running, twice", []event{
			{p: pod("a", "n1", corev1.PodRunning)},
			{p: pod("b", "n1", corev1.PodRunning)},
			{p: pod("a", "n1", corev1.PodSucceeded)},
			{p: pod("a", "n1", corev1.PodSucceeded), delete: true},
			{p: pod("b", "n1", corev1.PodRunning), delete: true},
			{p: pod("b", "n1", corev1.PodRunning), delete: true},
		}, podCounts{Created: 2, Bound: 2, Running: 0, Existing: 0, Deleted: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newPodTracker()
			for _, e := range tc.events {
				if e.delete {
					tr.remove(e.p)
				} else {
					tr.observe(e.p)
				}
			}
			if got := tr.snapshot(); got != tc.want {
				t.Errorf("counts %+v, want %+v", got, tc.want)
			}
		})
	}
}
