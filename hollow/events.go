package hollow

import (
	"fmt"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/hollowmark/hollowmark/internal/kubeapi"
)

// The kubelet's event recorder posts through a client of its own, limited
// to eventRecordQPS (50) with bursts of eventBurst (100), and gives up on
// an event after a few tries: events are best effort.
const (
	eventQPS         = 50
	eventBurst       = 100
	eventMaxAttempts = 3
)

// eventTarget is what an event is about.
type eventTarget struct {
	kind, namespace, name, fieldPath string
	uid                              types.UID
}

func podTarget(p *pod, c *container) eventTarget {
	t := eventTarget{kind: "Pod", namespace: p.namespace, name: p.name, uid: p.uid}
	if c != nil {
		t.fieldPath = "spec.containers{" + c.name + "}"
		if c.isInit {
			t.fieldPath = "spec.initContainers{" + c.name + "}"
		}
	}
	return t
}

// nodeTarget is the kubelet's reference to its Node: the UID is the node's
// name, and its events go to the default namespace.
func (k *Kubelet) nodeTarget() eventTarget {
	return eventTarget{kind: "Node", name: k.name, uid: types.UID(k.name)}
}

// event posts one core/v1 Event as the kubelet's legacy recorder makes it,
// and returns its name and namespace.
func (k *Kubelet) event(t eventTarget, typ, reason, message string) (name, ns string) {
	if k.events == nil {
		return "", ""
	}
	now := k.env.clock.Now()
	ns = t.namespace
	if ns == "" {
		ns = metav1.NamespaceDefault
	}
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", t.name, now.UnixNano()), Namespace: ns},
		InvolvedObject: corev1.ObjectReference{Kind: t.kind, Namespace: t.namespace, Name: t.name, UID: t.uid,
			APIVersion: "v1", FieldPath: t.fieldPath},
		Reason: reason, Message: message, Type: typ, Count: 1,
		FirstTimestamp: metav1.NewTime(now), LastTimestamp: metav1.NewTime(now),
		Source:              corev1.EventSource{Component: "kubelet", Host: k.name},
		ReportingController: "kubelet", ReportingInstance: k.name,
	}
	body, err := k.env.codec.Encode(ev, corev1.SchemeGroupVersion)
	if err != nil {
		k.env.log.Error("encoding event", zap.Error(err))
		return "", ""
	}
	k.postEvent(ns, body, 1)
	return ev.Name, ns
}

// repeatEvent is the recorder's correlator at work: an event recorded again
// is not posted anew but patched, its count raised.
func (k *Kubelet) repeatEvent(name, ns string, count int) {
	if name == "" {
		return
	}
	now := metav1.NewTime(k.env.clock.Now())
	body := fmt.Appendf(nil, `{"count":%d,"lastTimestamp":%q}`, count, now.UTC().Format(time.RFC3339))
	k.events.Do(kubeapi.Call{Verb: "PATCH", Path: "/api/v1/namespaces/" + ns + "/events/" + name, ContentType: strategicMergePatch, Body: body},
		func(resp kubeapi.Response) { k.env.metrics.events.WithLabelValues(eventResult(resp.Err)).Inc() })
}

func (k *Kubelet) postEvent(ns string, body []byte, attempt int) {
	k.events.Do(kubeapi.Call{Verb: "POST", Path: "/api/v1/namespaces/" + ns + "/events", ContentType: kubeapi.ContentTypeProtobuf, Body: body},
		func(resp kubeapi.Response) {
			if resp.Err == nil || attempt >= eventMaxAttempts || kubeapi.IsStatus(resp.Err, 409) {
				k.env.metrics.events.WithLabelValues(eventResult(resp.Err)).Inc()
				return
			}
			k.env.clock.Tick(time.Duration(attempt)*time.Second, func() { k.postEvent(ns, body, attempt+1) })
		})
}

func eventResult(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}

// containerEvents are what the kubelet records while starting c: the image
// (already present, or pulled), the container created and started.
func (k *Kubelet) containerEvents(p *pod, c *container, pulled time.Duration) {
	t := podTarget(p, c)
	if pulled == 0 {
		k.event(t, corev1.EventTypeNormal, "Pulled", fmt.Sprintf("Container image %q already present on machine and can be accessed by the pod", c.image))
	} else {
		k.event(t, corev1.EventTypeNormal, "Pulling", fmt.Sprintf("Pulling image %q", c.image))
		d := pulled.Round(time.Millisecond)
		k.event(t, corev1.EventTypeNormal, "Pulled", fmt.Sprintf("Successfully pulled image %q in %v (%v including waiting). Image size: %d bytes.", c.image, d, d, imageSize(c.image)))
	}
	k.event(t, corev1.EventTypeNormal, "Created", "Container created")
	k.event(t, corev1.EventTypeNormal, "Started", "Container started")
}
