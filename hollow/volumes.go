package hollow

import (
	"math/rand/v2"
	"net/url"
	"time"

	"go.uber.org/zap"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/hollowmark/hollowmark/internal/kubeapi"
)

// What the kubelet's volume manager and its ConfigMap and Secret managers
// do against the API for a pod, before its sandbox is created:
//
//   - every ConfigMap and Secret a pod refers to (volumes, projected
//     sources, env, image pull secrets) is watched by a watch of its own,
//     field-selected by name, opened when the first pod on the node refers
//     to it and closed when the last one goes (pkg/kubelet/util/manager's
//     watch-based manager); an immutable object is read once and not
//     watched further;
//   - every projected service-account token is requested (TokenRequest,
//     bound to the pod) and requested again when 80% of its life has gone
//     (pkg/kubelet/token), at the next remount, which comes every sync
//     period (a minute).

const (
	syncFrequency      = time.Minute
	tokenRefreshShare  = 0.8
	defaultTokenExpiry = 3607 * time.Second
	// The volume manager: its desired-state populator and its reconciler
	// each loop every 100 ms; a failed mount is retried with exponential
	// back-off from 500 ms to 2m2s; and the pod worker's
	// WaitForAttachAndMount looks every 300 ms whether the mounts are done.
	volumeLoop      = 100 * time.Millisecond
	mountBackoff    = 500 * time.Millisecond
	mountBackoffMax = 2*time.Minute + 2*time.Second
	mountPoll       = 300 * time.Millisecond
	// objectWatchTimeout is the watch-based manager's MinWatchTimeout.
	objectWatchTimeout = 30 * time.Minute
)

// objectRef names a ConfigMap or Secret.
type objectRef struct {
	resource, namespace, name string // resource: configmaps or secrets
}

// objectWatch is one watched ConfigMap or Secret and the pods that use it.
type objectWatch struct {
	lw      watcher
	refs    int
	synced  bool
	waiting []*pod
}

// tokenSource is one projected service-account token of a pod.
type tokenSource struct {
	audience string
	expiry   time.Duration
}

// volumeRefs collects what a pod's volumes and containers refer to.
func volumeRefs(obj *corev1.Pod) (objects []objectRef, tokens []tokenSource) {
	seen := map[objectRef]bool{}
	add := func(resource, name string) {
		r := objectRef{resource, obj.Namespace, name}
		if name != "" && !seen[r] {
			seen[r] = true
			objects = append(objects, r)
		}
	}
	for _, v := range obj.Spec.Volumes {
		switch {
		case v.ConfigMap != nil:
			add("configmaps", v.ConfigMap.Name)
		case v.Secret != nil:
			add("secrets", v.Secret.SecretName)
		case v.Projected != nil:
			for _, src := range v.Projected.Sources {
				switch {
				case src.ConfigMap != nil:
					add("configmaps", src.ConfigMap.Name)
				case src.Secret != nil:
					add("secrets", src.Secret.Name)
				case src.ServiceAccountToken != nil:
					tokens = append(tokens, tokenSource{audience: src.ServiceAccountToken.Audience, expiry: tokenExpiry(src.ServiceAccountToken)})
				}
			}
		}
	}
	for _, s := range obj.Spec.ImagePullSecrets {
		add("secrets", s.Name)
	}
	for _, cs := range [][]corev1.Container{obj.Spec.InitContainers, obj.Spec.Containers} {
		for _, c := range cs {
			for _, e := range c.EnvFrom {
				if e.ConfigMapRef != nil {
					add("configmaps", e.ConfigMapRef.Name)
				}
				if e.SecretRef != nil {
					add("secrets", e.SecretRef.Name)
				}
			}
			for _, e := range c.Env {
				if e.ValueFrom == nil {
					continue
				}
				if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
					add("configmaps", r.Name)
				}
				if r := e.ValueFrom.SecretKeyRef; r != nil {
					add("secrets", r.Name)
				}
			}
		}
	}
	return objects, tokens
}

func tokenExpiry(src *corev1.ServiceAccountTokenProjection) time.Duration {
	if src.ExpirationSeconds == nil {
		return defaultTokenExpiry
	}
	return time.Duration(*src.ExpirationSeconds) * time.Second
}

// registerObjects starts watching what p refers to, as the kubelet does
// when a pod is added. Callers hold k.mu.
func (k *Kubelet) registerObjects(p *pod) {
	for _, r := range p.objects {
		w := k.objectWatches[r]
		if w == nil {
			w = &objectWatch{}
			k.objectWatches[r] = w
			w.lw = k.client.Watch("/api/v1/namespaces/"+r.namespace+"/"+r.resource,
				url.Values{"fieldSelector": {"metadata.name=" + r.name}}, objectWatchTimeout, objectHandler{k, r})
			w.lw.Start()
		}
		w.refs++
	}
}

// unregisterObjects closes the watches p was the last user of.
func (k *Kubelet) unregisterObjects(p *pod) {
	for _, r := range p.objects {
		w := k.objectWatches[r]
		if w == nil {
			continue
		}
		if w.refs--; w.refs <= 0 {
			if w.lw != nil {
				w.lw.Stop()
			}
			delete(k.objectWatches, r)
		}
	}
	p.objects = nil
}

// mountVolumes gets what p's volumes need (its objects' watches synced, its
// tokens), then creates the sandbox. The tokens are requested when the
// volume manager's two loops have passed over the new pod, and the pod
// goes on at the first of WaitForAttachAndMount's looks that finds every
// mount done. Callers hold k.mu.
func (k *Kubelet) mountVolumes(p *pod) {
	p.mountStart = k.env.clock.Now()
	p.mountsPending = 1 // released at the end, so nothing completes early
	for _, r := range p.objects {
		if w := k.objectWatches[r]; w != nil && !w.synced {
			p.mountsPending++
			w.waiting = append(w.waiting, p)
		}
	}
	if len(p.tokens) > 0 {
		p.mountsPending += len(p.tokens)
		k.env.clock.AfterFunc(rand.N(volumeLoop)+rand.N(volumeLoop), func() {
			k.mu.Lock()
			defer k.mu.Unlock()
			for i := range p.tokens {
				if !k.stopped && !p.gone && !p.deleting {
					k.requestToken(p, i)
				}
			}
		})
	}
	k.mounted(p)
}

// mounted counts one finished mount; after the last one the pod goes on
// at WaitForAttachAndMount's next look (at once if it had nothing to mount).
func (k *Kubelet) mounted(p *pod) {
	if p.mountsPending--; p.mountsPending > 0 || p.gone || p.deleting {
		return
	}
	var wait time.Duration
	if len(p.objects) > 0 || len(p.tokens) > 0 {
		took := k.env.clock.Now().Sub(p.mountStart)
		wait = (took/mountPoll+1)*mountPoll - took
	}
	k.after(p, wait, func(time.Time) {
		if !p.hostNetwork && !k.podCIDR.IsValid() {
			k.waiting = append(k.waiting, p)
			return
		}
		k.createSandbox(p)
	})
}

// requestToken asks for token i of p, bound to p, and arms its refresh.
// The first request is part of mounting; refreshes are not.
func (k *Kubelet) requestToken(p *pod, i int) {
	src := p.tokens[i]
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: ptrInt64(int64(src.expiry.Seconds())),
		BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: p.name, UID: p.uid},
	}}
	if src.audience != "" {
		tr.Spec.Audiences = []string{src.audience}
	}
	body, err := k.env.codec.Encode(tr, authenticationv1.SchemeGroupVersion)
	if err != nil {
		k.env.log.Error("encoding token request", zap.Error(err))
		return
	}
	k.client.Do(kubeapi.Call{Verb: "POST", Path: "/api/v1/namespaces/" + p.namespace + "/serviceaccounts/" + p.serviceAccount + "/token",
		ContentType: kubeapi.ContentTypeProtobuf, Body: body}, func(resp kubeapi.Response) {
		k.mu.Lock()
		defer k.mu.Unlock()
		if k.stopped || p.gone {
			return
		}
		if resp.Err != nil {
			// The volume manager retries a failed mount with back-off; a
			// failed refresh waits for the next remount.
			k.env.log.Debug("token request failed", zap.String("pod", p.namespace+"/"+p.name), zap.Error(resp.Err))
			k.env.metrics.tokens.WithLabelValues("error").Inc()
			retry := syncFrequency
			if !p.tokenGot[i] {
				retry = min(mountBackoff<<p.mountFailures, mountBackoffMax)
				p.mountFailures++
			}
			k.armTokenRefresh(p, i, retry)
			return
		}
		k.env.metrics.tokens.WithLabelValues("ok").Inc()
		k.armTokenRefresh(p, i, tokenRefreshAfter(src.expiry))
		if !p.tokenGot[i] {
			p.tokenGot[i] = true
			k.mounted(p)
		}
	})
}

// tokenRefreshAfter is when the kubelet's token manager renews a token:
// at the first remount after 80% of its life (plus up to 10 s of jitter).
func tokenRefreshAfter(expiry time.Duration) time.Duration {
	due := time.Duration(float64(expiry)*tokenRefreshShare) - rand.N(10*time.Second)
	// Remounts come every sync period: the refresh waits for the next one.
	return due + rand.N(syncFrequency)
}

func (k *Kubelet) armTokenRefresh(p *pod, i int, after time.Duration) {
	if p.tokenRefresh == nil {
		p.tokenRefresh = make([]timer, len(p.tokens))
	}
	p.tokenRefresh[i] = k.env.clock.Tick(after, func() {
		k.mu.Lock()
		defer k.mu.Unlock()
		if !k.stopped && !p.gone && !p.deleting {
			k.requestToken(p, i)
		}
	})
}

func (p *pod) stopTokenRefresh() {
	for _, t := range p.tokenRefresh {
		if t != nil {
			t.Stop()
		}
	}
}

func ptrInt64(v int64) *int64 { return &v }

// objectHandler follows one ConfigMap or Secret for the pods that use it.
type objectHandler struct {
	k   *Kubelet
	ref objectRef
}

func (h objectHandler) Replace(items []runtime.Object) {
	k := h.k
	k.mu.Lock()
	defer k.mu.Unlock()
	w := k.objectWatches[h.ref]
	if w == nil || w.synced {
		return
	}
	w.synced = true
	waiting := w.waiting
	w.waiting = nil
	for _, p := range waiting {
		k.mounted(p)
	}
	// The manager stops watching an object once it has seen it immutable.
	if len(items) == 1 && immutable(items[0]) {
		k.env.metrics.watchesClosedImmutable.Inc()
		go w.lw.Stop() // not from the watch's own handler call
	}
}

func (h objectHandler) Event(_ watch.EventType, obj runtime.Object) {
	if !immutable(obj) {
		return
	}
	k := h.k
	k.mu.Lock()
	w := k.objectWatches[h.ref]
	k.mu.Unlock()
	if w != nil {
		go w.lw.Stop()
	}
}

func (h objectHandler) Failed(error) { h.k.env.metrics.watchFailures.WithLabelValues("kubelet").Inc() }

func immutable(obj runtime.Object) bool {
	switch o := obj.(type) {
	case *corev1.ConfigMap:
		return o.Immutable != nil && *o.Immutable
	case *corev1.Secret:
		return o.Immutable != nil && *o.Immutable
	}
	return false
}
