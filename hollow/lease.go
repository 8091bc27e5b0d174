package hollow

import (
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/hollowmark/hollowmark/internal/kubeapi"
)

// The kubelet's node lease controller (component-helpers' lease package,
// docs/fidelity.md has file and line), through the kubelet's heartbeat
// client: no rate limit, and each request given up after the node status
// update period (10 s, the lease duration being longer). A sync updates
// the latest lease up to five times in a row (re-reading it after a
// conflict); when all five fail it re-reads the lease, creating it if it
// is gone, with a back-off of 200 ms doubling to 7 s between failed reads,
// and updates it up to five times more. The next sync comes 10 s × (1 +
// U[0, 0.04]) after the last one ended.
const (
	heartbeatTimeout   = nodeStatusUpdatePeriod
	leaseUpdateTries   = 5
	leaseEnsureBackoff = 100 * time.Millisecond // doubled before its first use
	leaseEnsureMax     = 7 * time.Second
	// lateHeartbeat: a renewal answered this long after it was due is
	// logged. A node that renews each lease this late misses none, but
	// has used a quarter of the lease's duration.
	lateHeartbeat = leaseDuration / 4
)

const leasePath = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"

// leasePhase is where a lease sync stands.
type leasePhase int

const (
	leaseUpdating  leasePhase = iota // updating the latest lease
	leaseEnsuring                    // re-reading (or creating) it after failed updates
	leaseUpdating2                   // updating what was re-read: failures end the sync
)

// leaseState is the lease controller's.
type leaseState struct {
	// rv and uid are the latest lease's resource version and UID; empty
	// until the lease is read or created. The UID goes with each renewal,
	// as the controller's copy of the lease carries it: a renewal of a
	// lease deleted since is refused (409) instead of creating one.
	rv, uid string
	// createFirst skips the read before the first create: the lean kubelet
	// makes no such request.
	createFirst bool
	phase       leasePhase
	tries       int           // failed updates in a row in this phase
	backoff     time.Duration // before the next read, after a failed one
	// due is when the sync under way was due: its delay is measured from
	// there.
	due time.Time
	// answered and renewed are when a lease call last came back, and came
	// back successful: the pool's liveness and readiness.
	answered, renewed time.Time
	// lastDelay is how late the last successful sync was answered.
	lastDelay time.Duration
	// pausedUntil holds the node's heartbeats (leases and node status), a
	// fault injected on purpose (PauseHeartbeats).
	pausedUntil time.Time
}

// LeaseState is a hollow node's lease as the node sees it.
type LeaseState struct {
	// Renewed is when a renewal last succeeded (zero: never).
	Renewed time.Time
	// LastDelay is how long after it was due that renewal was answered.
	LastDelay time.Duration
	// PausedUntil is when heartbeats paused on purpose resume, if they are
	// paused.
	PausedUntil time.Time
}

// scheduleLeaseLocked runs a sync after d.
func (k *Kubelet) scheduleLeaseLocked(d time.Duration) {
	k.leaseAtLocked(d, k.env.clock.Now().Add(d))
}

// leaseAtLocked runs the sync due at due after d.
func (k *Kubelet) leaseAtLocked(d time.Duration, due time.Time) {
	k.timers[0] = k.env.clock.Tick(d, func() {
		k.mu.Lock()
		defer k.mu.Unlock()
		k.syncLeaseLocked(due)
	})
}

// syncLeaseLocked is one pass of the lease controller, due at due.
func (k *Kubelet) syncLeaseLocked(due time.Time) {
	if k.stopped {
		return
	}
	now := k.env.clock.Now()
	if now.Before(k.lease.pausedUntil) {
		k.leaseAtLocked(k.lease.pausedUntil.Sub(now), due)
		return
	}
	k.env.metrics.heartbeatDelay("lease", "started", now.Sub(due))
	k.lease.due, k.lease.tries = due, 0
	if k.lease.rv != "" {
		k.lease.phase = leaseUpdating
		k.updateLeaseLocked()
		return
	}
	k.lease.phase, k.lease.backoff = leaseEnsuring, leaseEnsureBackoff
	k.ensureLeaseLocked()
}

// leaseObject is the node's lease as the controller writes it.
func (k *Kubelet) leaseObject() *coordinationv1.Lease {
	now := metav1.NewMicroTime(k.env.clock.Now())
	return &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{
			Name: k.name, Namespace: corev1.NamespaceNodeLease, ResourceVersion: k.lease.rv, UID: types.UID(k.lease.uid),
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: k.name, UID: k.uid}},
		},
		Spec: coordinationv1.LeaseSpec{
			HolderIdentity:       ptr.To(k.name),
			LeaseDurationSeconds: ptr.To(int32(leaseDuration.Seconds())),
			RenewTime:            &now,
		},
	}
}

// heartbeat is a call of the kubelet's heartbeat client.
func heartbeat(verb, path, resource string, body []byte) kubeapi.Call {
	c := kubeapi.Call{Verb: verb, Path: path, Resource: resource, Unthrottled: true, Timeout: heartbeatTimeout, Body: body}
	if body != nil {
		c.ContentType = kubeapi.ContentTypeProtobuf
	}
	return c
}

func (k *Kubelet) updateLeaseLocked() {
	body, err := k.env.codec.Encode(k.leaseObject(), coordinationv1.SchemeGroupVersion)
	if err != nil {
		k.env.log.Error("encoding lease", zap.String("node", k.name), zap.Error(err))
		return
	}
	k.client.Do(heartbeat("PUT", leasePath+"/"+k.name, "leases", body), k.leaseUpdated)
}

func (k *Kubelet) leaseUpdated(resp kubeapi.Response) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stopped {
		return
	}
	k.lease.answered = k.env.clock.Now()
	if resp.Err == nil {
		k.env.metrics.heartbeatResult("lease", "ok")
		k.leaseIdentityLocked(resp)
		k.leaseRenewedLocked()
		return
	}
	conflict := kubeapi.IsStatus(resp.Err, 409)
	if conflict {
		k.env.metrics.heartbeatResult("lease", "conflict")
	} else {
		k.env.metrics.heartbeatResult("lease", "error")
		k.env.log.Debug("lease renewal failed", zap.String("node", k.name), zap.Error(resp.Err))
	}
	k.lease.tries++
	switch {
	case k.lease.tries >= leaseUpdateTries && k.lease.phase == leaseUpdating:
		k.lease.phase, k.lease.backoff = leaseEnsuring, leaseEnsureBackoff
		k.ensureLeaseLocked()
	case k.lease.tries >= leaseUpdateTries:
		k.env.log.Debug("lease sync failed; next one after the renew interval", zap.String("node", k.name))
		k.scheduleLeaseLocked(jittered(leaseRenewInterval))
	case conflict:
		// Someone else wrote it: read it again, then update that.
		k.lease.backoff = leaseEnsureBackoff
		k.ensureLeaseLocked()
	default:
		k.updateLeaseLocked()
	}
}

// ensureLeaseLocked reads the lease, creating it if it does not exist.
func (k *Kubelet) ensureLeaseLocked() {
	if k.lease.createFirst {
		k.lease.createFirst = false
		k.createLeaseLocked()
		return
	}
	k.client.Do(heartbeat("GET", leasePath+"/"+k.name, "leases", nil), func(resp kubeapi.Response) {
		k.mu.Lock()
		defer k.mu.Unlock()
		if k.stopped {
			return
		}
		k.lease.answered = k.env.clock.Now()
		switch {
		case resp.Err == nil:
			k.lease.rv, k.lease.uid = "", ""
			k.leaseIdentityLocked(resp)
			k.leaseEnsuredLocked(false)
		case kubeapi.IsStatus(resp.Err, 404) && k.env.cfg.Fidelity == FidelityFull:
			// The new lease is owned by the Node, whose UID the
			// controller reads first.
			k.client.Do(heartbeat("GET", "/api/v1/nodes/"+k.name, "nodes", nil), func(resp kubeapi.Response) {
				k.mu.Lock()
				defer k.mu.Unlock()
				if k.stopped {
					return
				}
				node, err := k.decodeNode(resp)
				if err != nil {
					k.noLeaseOwnerLocked(err)
					return
				}
				k.uid = node.UID
				k.createLeaseLocked()
			})
		case kubeapi.IsStatus(resp.Err, 404) && k.nodeGone:
			k.noLeaseOwnerLocked(errors.New("the Node is gone"))
		case kubeapi.IsStatus(resp.Err, 404):
			k.createLeaseLocked()
		default:
			k.retryEnsureLocked(resp.Err)
		}
	})
}

// noLeaseOwnerLocked ends a sync that found no Node to own a new lease:
// the kubelet's owner function (SetNodeOwnerFunc) fails, and its controller
// creates no lease and forgets the latest one; the next sync, after the
// renew interval, reads both again. (In the sync where a renewal first
// finds the lease gone the kubelet reads the Node 6 times and the lease
// twice; here once each.)
func (k *Kubelet) noLeaseOwnerLocked(err error) {
	k.env.log.Debug("no Node to own the lease; next sync after the renew interval", zap.String("node", k.name), zap.Error(err))
	k.lease.rv, k.lease.uid = "", ""
	k.scheduleLeaseLocked(jittered(leaseRenewInterval))
}

func (k *Kubelet) createLeaseLocked() {
	k.lease.rv, k.lease.uid = "", ""
	body, err := k.env.codec.Encode(k.leaseObject(), coordinationv1.SchemeGroupVersion)
	if err != nil {
		k.env.log.Error("encoding lease", zap.String("node", k.name), zap.Error(err))
		return
	}
	k.client.Do(heartbeat("POST", leasePath, "leases", body), func(resp kubeapi.Response) {
		k.mu.Lock()
		defer k.mu.Unlock()
		if k.stopped {
			return
		}
		k.lease.answered = k.env.clock.Now()
		if resp.Err != nil {
			k.env.metrics.heartbeatResult("lease", "error")
			k.retryEnsureLocked(resp.Err)
			return
		}
		k.env.metrics.heartbeatResult("lease", "ok")
		k.leaseIdentityLocked(resp)
		k.leaseEnsuredLocked(true)
	})
}

// retryEnsureLocked reads the lease again after the back-off.
func (k *Kubelet) retryEnsureLocked(err error) {
	k.lease.backoff = min(2*k.lease.backoff, leaseEnsureMax)
	k.env.log.Debug("reading the lease failed; retrying", zap.String("node", k.name),
		zap.Duration("after", k.lease.backoff), zap.Error(err))
	k.timers[0] = k.env.clock.Tick(k.lease.backoff, func() {
		k.mu.Lock()
		defer k.mu.Unlock()
		if !k.stopped {
			k.ensureLeaseLocked()
		}
	})
}

// leaseEnsuredLocked goes on once the lease was read, or created (which
// renews it).
func (k *Kubelet) leaseEnsuredLocked(created bool) {
	switch {
	case k.lease.phase != leaseEnsuring:
		// Re-read after a conflict: the update round goes on.
		k.updateLeaseLocked()
	case created:
		k.leaseRenewedLocked()
	default:
		k.lease.phase, k.lease.tries = leaseUpdating2, 0
		k.updateLeaseLocked()
	}
}

// leaseRenewedLocked ends a successful sync and schedules the next.
func (k *Kubelet) leaseRenewedLocked() {
	now := k.env.clock.Now()
	k.lease.renewed = now
	k.lease.lastDelay = now.Sub(k.lease.due)
	k.env.metrics.heartbeatDelay("lease", "answered", k.lease.lastDelay)
	if k.lease.lastDelay > lateHeartbeat {
		k.env.log.Debug("lease renewal answered late", zap.String("node", k.name),
			zap.Time("due", k.lease.due), zap.Duration("late", k.lease.lastDelay), zap.Duration("leaseDuration", leaseDuration))
	}
	if !k.readyCounted {
		k.readyCounted = true
		k.env.metrics.nodesReady.Inc()
	}
	k.scheduleLeaseLocked(jittered(leaseRenewInterval))
}

// leaseIdentityLocked keeps the resource version and UID of the lease a
// response holds, if it holds one.
func (k *Kubelet) leaseIdentityLocked(resp kubeapi.Response) {
	uid, rv, err := k.env.codec.Identity(resp.Body)
	if err != nil || rv == "" {
		return
	}
	k.lease.rv, k.lease.uid = rv, uid
}

func (k *Kubelet) decodeNode(resp kubeapi.Response) (*corev1.Node, error) {
	if resp.Err != nil {
		return nil, resp.Err
	}
	obj, err := k.env.codec.Decode(resp.Body)
	if err != nil {
		return nil, err
	}
	node, ok := obj.(*corev1.Node)
	if !ok {
		return nil, fmt.Errorf("server returned %T for a node", obj)
	}
	return node, nil
}

// pauseHeartbeats holds the node's lease renewals and status reports until
// until: a kubelet wedged on purpose, so that a run shows what a node
// missing its leases does.
func (k *Kubelet) pauseHeartbeats(until time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.lease.pausedUntil = until
	k.env.log.Info("heartbeats paused", zap.String("node", k.name), zap.Time("until", until))
}

func (k *Kubelet) heartbeatsPaused(now time.Time) bool { return now.Before(k.lease.pausedUntil) }

func (k *Kubelet) leaseState() LeaseState {
	k.mu.Lock()
	defer k.mu.Unlock()
	s := LeaseState{Renewed: k.lease.renewed, LastDelay: k.lease.lastDelay}
	if k.heartbeatsPaused(k.env.clock.Now()) {
		s.PausedUntil = k.lease.pausedUntil
	}
	return s
}
