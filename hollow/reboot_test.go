package hollow

import (
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// rebootedKubelet is a kubelet started again on k's node, its API and
// clock, after boot reboots.
func rebootedKubelet(k *Kubelet, boot int) *Kubelet {
	k.stop()
	k2 := newKubelet(k.env, k.name, k.index, k.client, k.events)
	k2.podCIDR, k2.boot = k.podCIDR, boot
	return k2
}

// After a reboot the runtime has no containers: a pod still bound to the
// node starts again, Running all along with one restart more and the lost
// container as its last termination, and keeps its start time; a kubelet
// restarted without a reboot adopts it and sends nothing.
func TestPodsAfterARestartOrAReboot(t *testing.T) {
	for _, tc := range []struct {
		name  string
		boot  int
		calls []string
	}{
		{"kubelet restart", 0, nil},
		{"reboot", 1, []string{"GET pods", "PATCH pods/status", "POST serviceaccounts/token", "GET pods", "PATCH pods/status", "GET pods", "PATCH pods/status"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, clk, api, _ := newTestKubelet(t)
			bringUp(k, clk, api)
			api.calls()
			started := api.pod.Status.StartTime.Time
			clk.step(time.Minute)

			k2 := rebootedKubelet(k, tc.boot)
			k2.see(api.pod.DeepCopy())
			api.flush()
			if tc.boot > 0 {
				cs := api.pod.Status.ContainerStatuses[0]
				if api.pod.Status.Phase != corev1.PodRunning || cs.State.Waiting == nil || cs.State.Waiting.Reason != "ContainerCreating" || cs.RestartCount != 1 {
					t.Errorf("first status after the reboot: phase %s, container %+v: want Running, ContainerCreating, 1 restart", api.pod.Status.Phase, cs)
				}
				mount(k2, clk, api, api.flush)
				clk.step(100 * time.Millisecond)
				api.flush()
				clk.step(50 * time.Millisecond)
				api.flush()
			}
			if got := api.calls(); !slices.Equal(got, tc.calls) {
				t.Fatalf("requests:\n got %v\nwant %v", got, tc.calls)
			}
			st := api.pod.Status
			cs := st.ContainerStatuses[0]
			if st.Phase != corev1.PodRunning || cs.State.Running == nil || !st.StartTime.Time.Equal(started) {
				t.Errorf("pod %s, container %+v, started %v: want Running since %v", st.Phase, cs.State, st.StartTime, started)
			}
			if cs.RestartCount != int32(tc.boot) {
				t.Errorf("restart count %d, want %d", cs.RestartCount, tc.boot)
			}
			last := cs.LastTerminationState.Terminated
			if lost := last != nil && last.Reason == "ContainerStatusUnknown" && last.ExitCode == 137; lost != (tc.boot > 0) {
				t.Errorf("last termination %+v after boot %d", last, tc.boot)
			}
		})
	}
}

// A pod deleted while its node was down (the taint manager evicts after
// 300 s NotReady) finishes once the node is back: nothing runs, so it is
// reported Failed and deleted for good.
func TestPodDeletedWhileTheNodeWasDownFinishesAfterTheReboot(t *testing.T) {
	k, clk, api, _ := newTestKubelet(t)
	bringUp(k, clk, api)
	api.calls()
	api.pod.DeletionTimestamp = &metav1.Time{Time: clk.Now()}
	api.pod.DeletionGracePeriodSeconds = ptr.To[int64](30)

	k2 := rebootedKubelet(k, 1)
	k2.see(api.pod.DeepCopy())
	api.flush()
	if got := api.calls(); !slices.Equal(got, []string{"GET pods", "PATCH pods/status", "DELETE pods"}) {
		t.Errorf("requests %v, want the final status and the DELETE", got)
	}
	if api.pod.Status.Phase != corev1.PodFailed {
		t.Errorf("phase %s, want Failed", api.pod.Status.Phase)
	}
}

// The boot ID stays across restarts of the pool and changes with each
// reboot, as a kernel's does.
func TestBootIDChangesWithReboots(t *testing.T) {
	ids := stableID("n")
	seen := map[string]int{}
	for boot := range 3 {
		id := bootID(ids, "n", boot)
		if prev, ok := seen[id]; ok {
			t.Errorf("boot %d has the boot ID of boot %d", boot, prev)
		}
		seen[id] = boot
	}
	if bootID(ids, "n", 0) != ids[32:] {
		t.Error("the first boot's ID changed")
	}
}
