package hollow

import (
	"encoding/json"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"

	"github.com/hollowmark/hollowmark/internal/kubeapi"
)

// nodeStatusTries is the kubelet's nodeStatusUpdateRetry: a failed report
// is tried again at once, up to five times in all, each retry reading the
// Node first through the heartbeat client.
const nodeStatusTries = 5

// scheduleStatusLocked runs the next status tick after the update period.
func (k *Kubelet) scheduleStatusLocked() {
	d := jittered(nodeStatusUpdatePeriod)
	due := k.env.clock.Now().Add(d)
	k.timers[1] = k.env.clock.Tick(d, func() { k.statusTickAt(due) })
}

// statusTick is a status tick due now.
func (k *Kubelet) statusTick() { k.statusTickAt(k.env.clock.Now()) }

// statusTickAt runs every nodeStatusUpdatePeriod: the status of a hollow
// node does not change by itself, so it is reported every
// nodeStatusReportPeriod, which refreshes the conditions' heartbeat times,
// or at once when someone else overwrote it. Pods whose status someone
// else overwrote are synced again at the same beat, the status manager's
// period being also 10 s.
func (k *Kubelet) statusTickAt(due time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stopped {
		return
	}
	k.reconcileStatuses()
	now := k.env.clock.Now()
	if !k.heartbeatsPaused(now) {
		k.env.metrics.heartbeatDelay("node-status", "started", now.Sub(due))
		switch {
		case k.nodeGone:
			// The kubelet's first try reads its lister, which no longer
			// has the Node; the retries read the API server.
			k.lastReport = now
			k.patchNodeStatusLocked(due, 1)
		case len(k.overwritten) > 0:
			k.reclaimConditionsLocked()
			k.reportStatusLocked(true, due)
		case now.Sub(k.lastReport) >= nodeStatusReportPeriod+k.reportDelay:
			k.reportStatusLocked(false, due)
		}
	}
	k.scheduleStatusLocked()
}

// reclaimConditionsLocked takes back conditions someone else set on our
// Node (the node lifecycle controller's Unknown after missed leases): each
// transitions now to what we report, as the kubelet's condition setters
// move lastTransitionTime when the Node they start from holds another
// status.
func (k *Kubelet) reclaimConditionsLocked() {
	now := k.env.clock.Now()
	for _, t := range k.overwritten {
		if t == corev1.NodeReady {
			k.readySince = now
		} else {
			k.conditionsSince = now
		}
	}
	k.env.log.Debug("node conditions overwritten on the server; reporting ours", zap.String("node", k.name),
		zap.Any("conditions", k.overwritten))
	k.overwritten = nil
}

// overwrittenConditions are the types of our conditions that the server's
// differ from, in status, reason or message (times are not compared: the
// server keeps them to the second, and heartbeats move anyway).
func overwrittenConditions(server, ours []corev1.NodeCondition) []corev1.NodeConditionType {
	have := map[corev1.NodeConditionType]corev1.NodeCondition{}
	for _, c := range server {
		have[c.Type] = c
	}
	var out []corev1.NodeConditionType
	for _, c := range ours {
		h, ok := have[c.Type]
		if !ok || h.Status != c.Status || h.Reason != c.Reason || h.Message != c.Message {
			out = append(out, c.Type)
		}
	}
	return out
}

// reportStatusLocked patches the node's conditions for the tick due at
// due. After a change the next periodic report shifts by a random delay;
// after a periodic one it does not.
func (k *Kubelet) reportStatusLocked(changed bool, due time.Time) {
	k.lastReport = k.env.clock.Now()
	k.reportDelay = 0
	if changed {
		k.reportDelay = statusReportDelay()
	}
	k.patchNodeStatusLocked(due, 0)
}

// patchNodeStatusLocked is try number try of a report: the first patches
// what the kubelet holds; a retry reads the Node first, as the kubelet's
// tryUpdateNodeStatus does when its lister's copy may be stale.
func (k *Kubelet) patchNodeStatusLocked(due time.Time, try int) {
	if try >= nodeStatusTries {
		k.env.log.Debug("node status report failed; next one at the next tick", zap.String("node", k.name))
		k.lastReport = time.Time{}
		return
	}
	if try > 0 {
		k.client.Do(heartbeat("GET", "/api/v1/nodes/"+k.name, "nodes", nil), func(resp kubeapi.Response) {
			k.mu.Lock()
			defer k.mu.Unlock()
			switch {
			case k.stopped:
			case resp.Err != nil:
				k.nodeMissingLocked(resp.Err)
				k.patchNodeStatusLocked(due, try+1)
			default:
				k.sendNodeStatusLocked(due, try)
			}
		})
		return
	}
	k.sendNodeStatusLocked(due, try)
}

func (k *Kubelet) sendNodeStatusLocked(due time.Time, try int) {
	now := k.env.clock.Now()
	status := map[string]any{"conditions": k.nodeConditions(now)}
	// After a reboot the Node still shows the last boot's ID: the first
	// report sends the new one, as the kubelet's status setters do.
	newBoot := k.boot > 0 && !k.bootReported
	if newBoot {
		status["nodeInfo"] = k.nodeStatus(now).NodeInfo
	}
	patch, err := json.Marshal(map[string]any{"status": status})
	if err != nil {
		k.env.log.Error("encoding node status", zap.Error(err))
		return
	}
	call := heartbeat("PATCH", "/api/v1/nodes/"+k.name+"/status", "nodes/status", patch)
	call.ContentType = strategicMergePatch
	k.client.Do(call, func(resp kubeapi.Response) {
		k.mu.Lock()
		defer k.mu.Unlock()
		if k.stopped {
			return
		}
		switch {
		case resp.Err == nil:
			k.bootReported = k.bootReported || newBoot
			k.env.metrics.heartbeatResult("node-status", "ok")
			late := k.env.clock.Now().Sub(due)
			k.env.metrics.heartbeatDelay("node-status", "answered", late)
			if late > lateHeartbeat {
				k.env.log.Debug("node status report answered late", zap.String("node", k.name),
					zap.Time("due", due), zap.Duration("late", late))
			}
		case kubeapi.IsStatus(resp.Err, 404):
			k.nodeMissingLocked(resp.Err)
			k.patchNodeStatusLocked(due, try+1)
		default:
			k.env.metrics.heartbeatResult("node-status", "error")
			k.env.log.Debug("node status report failed", zap.String("node", k.name), zap.Int("try", try+1), zap.Error(resp.Err))
			k.patchNodeStatusLocked(due, try+1)
		}
	})
}

// nodeMissingLocked notes a status call that found no Node. The kubelet
// does not register again (its registration happens once per start): it
// logs the failure and tries at the next tick.
func (k *Kubelet) nodeMissingLocked(err error) {
	if !kubeapi.IsStatus(err, 404) {
		return
	}
	k.nodeGone = true
	k.env.metrics.heartbeatResult("node-status", "not-found")
}
