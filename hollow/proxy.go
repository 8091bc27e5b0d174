package hollow

import (
	"net/url"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/hollowmark/hollowmark/internal/kubeapi"
)

// kube-proxy's defaults: a client rate limit of 5 QPS with bursts of 10, and
// the label selectors of its Service and EndpointSlice informers.
const (
	proxyQPS             = 5
	proxyBurst           = 10
	proxyServiceSelector = "!service.kubernetes.io/headless,!service.kubernetes.io/service-proxy-name"
	proxySliceSelector   = "kubernetes.io/service-name,!service.kubernetes.io/headless,!service.kubernetes.io/service-proxy-name"
	lastChangeTrigger    = "endpoints.kubernetes.io/last-change-trigger-time"
)

// Proxy is one hollow kube-proxy: its own watches of Services,
// EndpointSlices and its Node, applied to a proxier that programs nothing.
type Proxy struct {
	env     *env
	node    string
	client  *kubeapi.Client
	watches []*kubeapi.ListWatch
}

func newProxy(e *env, node string, client *kubeapi.Client) *Proxy {
	return &Proxy{env: e, node: node, client: client}
}

func (p *Proxy) start() {
	p.watches = []*kubeapi.ListWatch{
		p.client.NewListWatch("/api/v1/services", url.Values{"labelSelector": {proxyServiceSelector}}, countingHandler{p.env.metrics, "proxy"}),
		p.client.NewListWatch("/apis/discovery.k8s.io/v1/endpointslices", url.Values{"labelSelector": {proxySliceSelector}}, sliceHandler{p.env.metrics}),
		p.client.NewListWatch("/api/v1/nodes", url.Values{"fieldSelector": {"metadata.name=" + p.node}}, countingHandler{p.env.metrics, "proxy"}),
	}
	for _, w := range p.watches {
		w.Start()
	}
}

func (p *Proxy) stop() {
	for _, w := range p.watches {
		w.Stop()
	}
}

// sliceHandler is the no-op proxier's view of EndpointSlices: it records
// network programming latency, from the trigger time the EndpointSlice
// controller stamps on a slice to the moment this proxy sees the change.
type sliceHandler struct{ m *Metrics }

func (sliceHandler) Replace([]runtime.Object) {}

func (h sliceHandler) Event(t watch.EventType, obj runtime.Object) {
	slice, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok || t == watch.Deleted {
		return
	}
	trigger, ok := slice.Annotations[lastChangeTrigger]
	if !ok {
		return
	}
	at, err := time.Parse(time.RFC3339Nano, trigger)
	if err != nil {
		return
	}
	h.m.netProgramming.Observe(time.Since(at).Seconds())
}

func (h sliceHandler) Failed(error) { h.m.watchFailures.WithLabelValues("proxy").Inc() }
