package hollow

import (
	"encoding/json"
	"fmt"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"

	"github.com/hollowmark/hollowmark/internal/kubeapi"
)

// statusRetryPeriod is when a failed status sync is tried again: the
// kubelet's status manager retries in its periodic batch, every 10 s.
const statusRetryPeriod = 10 * time.Second

// The kubelet's status manager (pkg/kubelet/status) syncs one pod at a time
// per node, from one goroutine: GET the pod, merge the kubelet's status into
// the server's, PATCH the two-way strategic merge diff (nothing when there
// is no difference), and DELETE with grace 0 and a UID precondition once a
// deleted pod's containers are gone. The hollow kubelet keeps that order and
// those requests; callers hold k.mu.

// syncStatus records that p's status changed and queues it for syncing.
func (k *Kubelet) syncStatus(p *pod) {
	p.version++
	k.queueStatus(p)
}

func (k *Kubelet) queueStatus(p *pod) {
	if p.queued || p.gone {
		return
	}
	p.queued = true
	k.statusQueue = append(k.statusQueue, p)
	k.nextStatus()
}

// nextStatus starts the next queued sync unless one is under way.
func (k *Kubelet) nextStatus() {
	for !k.statusBusy && !k.stopped && len(k.statusQueue) > 0 {
		p := k.statusQueue[0]
		k.statusQueue[0] = nil
		k.statusQueue = k.statusQueue[1:]
		p.queued = false
		if p.gone {
			continue
		}
		k.statusBusy = true
		// The sync sends the version cached when it starts, as syncBatch
		// does; later changes go in the next sync.
		v := statusVersion{version: p.version, own: k.ownStatus(p), finished: p.terminated}
		if k.env.cfg.Fidelity == FidelityLean {
			k.patchStatus(p, v, p.lastSent, p.deleting)
			continue
		}
		k.getForStatus(p, v)
	}
}

// statusVersion is one version of a pod's status in the status manager's
// cache: the kubelet's status then, and whether the pod was finished (its
// containers gone), which lets a deleted pod be deleted for good.
type statusVersion struct {
	version  int
	own      *corev1.PodStatus
	finished bool
}

// statusDone ends the sync under way and starts the next.
func (k *Kubelet) statusDone() {
	k.statusBusy = false
	k.nextStatus()
}

// retryStatus syncs p again after the status manager's period.
func (k *Kubelet) retryStatus(p *pod) {
	k.env.clock.Tick(statusRetryPeriod, func() {
		k.mu.Lock()
		defer k.mu.Unlock()
		k.queueStatus(p)
	})
}

func (k *Kubelet) getForStatus(p *pod, v statusVersion) {
	k.client.Do(kubeapi.Call{Verb: "GET", Path: podPath(p)}, func(resp kubeapi.Response) {
		k.mu.Lock()
		defer k.mu.Unlock()
		if k.stopped {
			return
		}
		server, err := k.decodePod(resp)
		switch {
		case kubeapi.IsStatus(err, 404):
			// Gone from the server: its watch event will follow.
		case err != nil:
			k.env.log.Debug("reading pod for status failed; retrying", zap.String("pod", p.namespace+"/"+p.name), zap.Error(err))
			k.retryStatus(p)
		case server.UID != p.uid:
			// Deleted and recreated under the same name: not ours.
		default:
			old, err := json.Marshal(corev1.Pod{Status: server.Status})
			if err != nil {
				k.env.log.Error("encoding pod status", zap.Error(err))
				break
			}
			k.patchStatus(p, v, old, server.DeletionTimestamp != nil)
			return
		}
		k.statusDone()
	})
}

func (k *Kubelet) decodePod(resp kubeapi.Response) (*corev1.Pod, error) {
	if resp.Err != nil {
		return nil, resp.Err
	}
	obj, err := k.env.codec.Decode(resp.Body)
	if err != nil {
		return nil, err
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return nil, fmt.Errorf("server returned %T for a pod", obj)
	}
	return pod, nil
}

// patchStatus sends the difference between old (a Pod with only its status,
// as JSON) and version v of the kubelet's status, then deletes the pod if it
// was deleted and its containers are gone.
func (k *Kubelet) patchStatus(p *pod, v statusVersion, old []byte, deleted bool) {
	patch, next, err := statusPatch(p.uid, v.own, old)
	if err != nil {
		k.env.log.Error("computing pod status patch", zap.String("pod", p.name), zap.Error(err))
		k.statusDone()
		return
	}
	if patch == nil {
		k.statusSynced(p, v, deleted)
		return
	}
	k.client.Do(kubeapi.Call{Verb: "PATCH", Path: podPath(p) + "/status", ContentType: strategicMergePatch, Body: patch},
		func(resp kubeapi.Response) {
			k.mu.Lock()
			defer k.mu.Unlock()
			if k.stopped {
				return
			}
			switch {
			case resp.Err == nil:
				if k.env.cfg.Fidelity == FidelityLean {
					p.lastSent = next
				}
				k.statusSynced(p, v, deleted)
				return
			case kubeapi.IsStatus(resp.Err, 404), kubeapi.IsStatus(resp.Err, 409):
				// The pod is gone or was replaced; its watch event will follow.
			default:
				k.env.log.Debug("pod status update failed; retrying", zap.String("pod", p.namespace+"/"+p.name), zap.Error(resp.Err))
				k.retryStatus(p)
			}
			k.statusDone()
		})
}

// statusSynced notes that version v is on the server, and deletes the pod
// when the kubelet is done with it.
func (k *Kubelet) statusSynced(p *pod, v statusVersion, deleted bool) {
	version := v.version
	p.syncedVersion = max(p.syncedVersion, version)
	if p.runningVersion > 0 && version >= p.runningVersion && p.probes.StatusPosted.IsZero() {
		p.probes.StatusPosted = k.env.clock.Now()
		k.recordProbes(p)
	}
	if p.version != version {
		k.queueStatus(p)
	}
	if deleted && v.finished && !p.gone {
		k.deletePod(p)
		return
	}
	k.statusDone()
}

// deletePod removes a pod whose containers have stopped, with grace period
// zero and a UID precondition, as the status manager does. The sync it
// ends is over when the DELETE returns.
func (k *Kubelet) deletePod(p *pod) {
	body := fmt.Appendf(nil, `{"kind":"DeleteOptions","apiVersion":"v1","gracePeriodSeconds":0,"preconditions":{"uid":%q}}`, p.uid)
	k.client.Do(kubeapi.Call{Verb: "DELETE", Path: podPath(p), ContentType: kubeapi.ContentTypeJSON, Body: body}, func(resp kubeapi.Response) {
		k.mu.Lock()
		defer k.mu.Unlock()
		if resp.Err == nil || kubeapi.IsStatus(resp.Err, 404) || kubeapi.IsStatus(resp.Err, 409) {
			k.transition("deleted")
		} else if !k.stopped {
			k.env.log.Debug("pod deletion failed; retrying", zap.String("pod", p.namespace+"/"+p.name), zap.Error(resp.Err))
			k.retryStatus(p)
		}
		k.statusDone()
	})
}

func podPath(p *pod) string {
	return "/api/v1/namespaces/" + p.namespace + "/pods/" + p.name
}

// statusPatch merges own, the kubelet's status, into old, the server's pod
// (only its status, as JSON), and returns the two-way strategic merge patch
// from old to the result, guarded by the pod's UID, or nil when nothing
// changed. next is the merged pod as JSON.
func statusPatch(uid types.UID, own *corev1.PodStatus, old []byte) (patch, next []byte, err error) {
	var server corev1.Pod
	if len(old) > 0 {
		if err := json.Unmarshal(old, &server); err != nil {
			return nil, nil, fmt.Errorf("reading old status: %w", err)
		}
	} else {
		old = []byte("{}")
	}
	merged := corev1.Pod{ObjectMeta: metav1.ObjectMeta{UID: uid}, Status: mergeStatus(server.Status, own)}
	next, err = json.Marshal(merged)
	if err != nil {
		return nil, nil, err
	}
	patch, err = strategicpatch.CreateTwoWayMergePatch(old, next, corev1.Pod{})
	if err != nil {
		return nil, nil, err
	}
	if string(patch) == fmt.Sprintf(`{"metadata":{"uid":%q}}`, uid) {
		return nil, next, nil
	}
	// The lean kubelet keeps only what it sent: the UID is not part of it.
	merged.UID = ""
	if next, err = json.Marshal(merged); err != nil {
		return nil, nil, err
	}
	return patch, next, nil
}

// reconcileStatuses queues the pods whose server status someone else
// changed, as the status manager's periodic syncBatch(all) does every 10 s.
func (k *Kubelet) reconcileStatuses() {
	for _, p := range k.pods {
		if p.reconcile {
			p.reconcile = false
			k.queueStatus(p)
		}
	}
}
