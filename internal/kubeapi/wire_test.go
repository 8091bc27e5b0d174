package kubeapi

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
)

// frame encodes a watch event as the API server streams it in protobuf.
func frame(t *testing.T, c *Codec, typ watch.EventType, obj runtime.Object, gv schema.GroupVersion) []byte {
	t.Helper()
	raw, err := c.Encode(obj, gv)
	if err != nil {
		t.Fatal(err)
	}
	ev := metav1.WatchEvent{Type: string(typ), Object: runtime.RawExtension{Raw: raw}}
	b, err := ev.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The wire reader finds what the full decoder finds, and decodes objects
// only for a handler that uses them.
func TestReadEventMatchesTheDecoder(t *testing.T) {
	c := NewCodec()
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n", ResourceVersion: "41", Annotations: map[string]string{"a": "b"},
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubelet"}}}, Status: corev1.NodeStatus{Images: []corev1.ContainerImage{{Names: []string{"x"}}}}}
	end := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{ResourceVersion: "42", Annotations: map[string]string{initialEventsEnd: "true"}}}
	notEnd := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{ResourceVersion: "43", Annotations: map[string]string{initialEventsEnd: "false"}}}
	gone := &metav1.Status{Status: metav1.StatusFailure, Code: 410, Reason: metav1.StatusReasonExpired}
	tests := []struct {
		name    string
		frame   []byte
		unused  bool
		typ     watch.EventType
		rv      string
		end     bool
		decoded bool
	}{
		{"modified, used", frame(t, c, watch.Modified, node, corev1.SchemeGroupVersion), false, watch.Modified, "41", false, true},
		{"modified, unused", frame(t, c, watch.Modified, node, corev1.SchemeGroupVersion), true, watch.Modified, "41", false, false},
		{"end of the initial events", frame(t, c, watch.Bookmark, end, corev1.SchemeGroupVersion), false, watch.Bookmark, "42", true, false},
		{"a plain bookmark", frame(t, c, watch.Bookmark, notEnd, corev1.SchemeGroupVersion), false, watch.Bookmark, "43", false, false},
		{"an error, decoded whole", frame(t, c, watch.Error, gone, metav1.SchemeGroupVersion), true, watch.Error, "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := c.readEvent(tt.frame, tt.unused)
			if err != nil {
				t.Fatal(err)
			}
			if ev.typ != tt.typ || ev.rv != tt.rv || ev.initialEnd != tt.end || (ev.obj != nil) != tt.decoded {
				t.Errorf("read %s rv %q end %v object %T; want %s rv %q end %v decoded %v", ev.typ, ev.rv, ev.initialEnd, ev.obj, tt.typ, tt.rv, tt.end, tt.decoded)
			}
			if n, ok := ev.obj.(*corev1.Node); ok && len(n.Status.Images) != 1 {
				t.Errorf("decoded node %+v", n)
			}
		})
	}
	if _, err := c.readEvent([]byte{0xff, 0xff}, false); err == nil {
		t.Error("a malformed frame was read")
	}
}

func TestIdentity(t *testing.T) {
	c := NewCodec()
	lease, err := c.Encode(&coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "n", UID: "u-1", ResourceVersion: "1234",
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubelet", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{}}`)}}}}}, coordinationv1.SchemeGroupVersion)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		body    []byte
		uid, rv string
		ok      bool
	}{
		{"protobuf", lease, "u-1", "1234", true},
		{"JSON", []byte(`{"kind":"Lease","apiVersion":"coordination.k8s.io/v1","metadata":{"name":"n","uid":"u-2","resourceVersion":"99"}}`), "u-2", "99", true},
		{"neither", []byte("garbage"), "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			uid, rv, err := c.Identity(tt.body)
			if uid != tt.uid || rv != tt.rv || (err == nil) != tt.ok {
				t.Errorf("%q, %q, %v; want %q, %q (ok %v)", uid, rv, err, tt.uid, tt.rv, tt.ok)
			}
		})
	}
}

// However the stream is cut into DATA frames, the same watch frames come
// out, whole and in order.
func TestFrameReaderReassembles(t *testing.T) {
	var stream []byte
	var want []string
	for _, f := range []string{"a", "", "bbbbbbbbbbbb", "cc", strings.Repeat("d", 300)} {
		stream = binary.BigEndian.AppendUint32(stream, uint32(len(f)))
		stream = append(stream, f...)
		want = append(want, f)
	}
	for _, cut := range []int{1, 2, 3, 4, 5, 7, 100, len(stream)} {
		t.Run(fmt.Sprint(cut), func(t *testing.T) {
			var r frameReader
			var got []string
			for at := 0; at < len(stream); at += cut {
				r.feed(stream[at:min(at+cut, len(stream))], func(frame []byte) bool {
					got = append(got, string(frame))
					return true
				})
			}
			if !slices.Equal(got, want) || r.partial != nil {
				t.Errorf("frames %q (left %d bytes), want %q", got, len(r.partial), want)
			}
		})
	}
}
