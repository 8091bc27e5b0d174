package hollow

import (
	"fmt"
	"net/url"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/hollowmark/hollowmark/internal/kubeapi"
)

// kube-proxy v1.36's defaults: a client rate limit of 5 QPS with bursts of
// 10, and the selectors of its informers (cmd/kube-proxy/app/server.go):
// Services without a proxy name and with a cluster IP, EndpointSlices of
// services that are not headless.
const (
	proxyQPS             = 5
	proxyBurst           = 10
	proxyServiceSelector = "!service.kubernetes.io/service-proxy-name"
	proxyServiceField    = "spec.clusterIP!=None"
	proxySliceSelector   = "!service.kubernetes.io/headless"
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

// start opens the proxy's watches; in full fidelity also its ServiceCIDR
// watch (the MultiCIDRServiceAllocator is GA) and its Starting event.
func (p *Proxy) start() {
	counting := countingHandler{p.env.metrics, "proxy"}
	p.watches = []*kubeapi.ListWatch{
		p.client.NewListWatch("/api/v1/services", url.Values{"labelSelector": {proxyServiceSelector}, "fieldSelector": {proxyServiceField}}, counting),
		p.client.NewListWatch("/apis/discovery.k8s.io/v1/endpointslices", url.Values{"labelSelector": {proxySliceSelector}}, sliceHandler{p.env.metrics}),
		p.client.NewListWatch("/api/v1/nodes", url.Values{"fieldSelector": {"metadata.name=" + p.node}}, counting),
	}
	if p.env.cfg.Fidelity == FidelityFull {
		p.watches = append(p.watches, p.client.NewListWatch("/apis/networking.k8s.io/v1/servicecidrs", nil, counting))
		p.startingEvent()
	}
	for _, w := range p.watches {
		w.Start()
	}
}

// startingEvent is the events.k8s.io Event kube-proxy records about its
// node when it starts.
func (p *Proxy) startingEvent() {
	now := time.Now()
	ev := &eventsv1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", p.node, now.UnixNano()), Namespace: metav1.NamespaceDefault},
		EventTime:  metav1.NewMicroTime(now), ReportingController: "kube-proxy", ReportingInstance: "kube-proxy-" + p.node,
		Action: "StartKubeProxy", Reason: "Starting", Type: corev1.EventTypeNormal,
		Regarding: corev1.ObjectReference{Kind: "Node", Name: p.node, UID: types.UID(p.node)},
	}
	body, err := p.env.codec.Encode(ev, eventsv1.SchemeGroupVersion)
	if err != nil {
		p.env.log.Error("encoding event", zap.Error(err))
		return
	}
	p.client.Do(kubeapi.Call{Verb: "POST", Path: "/apis/events.k8s.io/v1/namespaces/default/events", ContentType: kubeapi.ContentTypeProtobuf, Body: body},
		func(resp kubeapi.Response) { p.env.metrics.events.WithLabelValues(eventResult(resp.Err)).Inc() })
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
