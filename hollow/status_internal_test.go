package hollow

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func runningPod(now time.Time) *pod {
	p := &pod{uid: "uid-1", namespace: "ns", name: "p", phase: corev1.PodRunning, startTime: now,
		main: []container{{name: "app", image: "img", phase: running, ready: true, created: true, startedAt: now}}}
	for i := range p.conds {
		p.conds[i] = condition{ok: true, at: now}
	}
	return p
}

func serverPod(t *testing.T, st corev1.PodStatus) []byte {
	t.Helper()
	b, err := json.Marshal(corev1.Pod{Status: st})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestStatusPatchIsTheDiffFromTheServersStatus(t *testing.T) {
	cfg := DefaultNodeConfig()
	k := &Kubelet{env: &env{cfg: &cfg}, ip: "127.1.0.1"}
	now := time.Now().Truncate(time.Second)
	at := metav1.NewTime(now.Add(-time.Minute))
	old := corev1.PodStatus{Phase: corev1.PodPending, QOSClass: corev1.PodQOSBestEffort, NominatedNodeName: "n",
		Conditions: []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: at},
			{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: "ContainersNotReady", Message: "containers with unready status: [app]", LastTransitionTime: at},
		}}
	patch, next, err := statusPatch("uid-1", k.ownStatus(runningPod(now)), serverPod(t, old))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Metadata map[string]any `json:"metadata"`
		Status   map[string]any `json:"status"`
	}
	if err := json.Unmarshal(patch, &got); err != nil {
		t.Fatalf("patch %s: %v", patch, err)
	}
	if got.Metadata["uid"] != "uid-1" {
		t.Errorf("patch carries no UID precondition: %s", patch)
	}
	for _, kept := range []string{"qosClass", "nominatedNodeName"} {
		if _, ok := got.Status[kept]; ok {
			t.Errorf("patch touches %s, which the kubelet does not own: %s", kept, patch)
		}
	}
	if strings.Contains(string(patch), `"$patch":"delete"`) {
		t.Errorf("patch deletes a condition (PodScheduled is the scheduler's): %s", patch)
	}
	ready := findCondition(t, got.Status, "Ready")
	for _, field := range []string{"reason", "message"} {
		if v, ok := ready[field]; !ok || v != nil {
			t.Errorf("Ready condition's %s = %v (present %v); want null to clear the stale value: %s", field, v, ok, patch)
		}
	}

	// The server now has what we sent: nothing more to patch.
	again, _, err := statusPatch("uid-1", k.ownStatus(runningPod(now)), next)
	if err != nil {
		t.Fatal(err)
	}
	if again != nil {
		t.Errorf("unchanged status still patched: %s", again)
	}
}

func TestAFinishedPodKnownOnlyFromTheServerIsNotRewritten(t *testing.T) {
	cfg := DefaultNodeConfig()
	k := &Kubelet{env: &env{cfg: &cfg}, ip: "127.1.0.1"}
	old := corev1.PodStatus{Phase: corev1.PodSucceeded, Reason: "done"}
	p := &pod{uid: "uid-2", asOnServer: true, phase: corev1.PodSucceeded}
	patch, _, err := statusPatch(p.uid, k.ownStatus(p), serverPod(t, old))
	if err != nil || patch != nil {
		t.Errorf("patch %s, err %v; want none", patch, err)
	}
}

func findCondition(t *testing.T, status map[string]any, typ string) map[string]any {
	t.Helper()
	conds, _ := status["conditions"].([]any)
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok && m["type"] == typ {
			return m
		}
	}
	t.Fatalf("no %s condition in patch status %v", typ, status)
	return nil
}
