package kubeapi

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/scheme"
)

// Media types, as a kubelet negotiates them: protobuf first.
const (
	ContentTypeProtobuf = runtime.ContentTypeProtobuf
	ContentTypeJSON     = runtime.ContentTypeJSON
	acceptProtobuf      = ContentTypeProtobuf + ", " + ContentTypeJSON
)

// Codec encodes request bodies and decodes responses and watch events in the
// Kubernetes protobuf wire format. It is safe for concurrent use and meant
// to be shared by every client of a process.
type Codec struct {
	decoder runtime.Decoder
	stream  runtime.Decoder // watch frames: a WatchEvent without envelope
	proto   runtime.Serializer
}

// NewCodec returns a codec for the built-in API types.
func NewCodec() *Codec {
	info, ok := runtime.SerializerInfoForMediaType(scheme.Codecs.SupportedMediaTypes(), ContentTypeProtobuf)
	if !ok || info.StreamSerializer == nil {
		panic("client-go scheme has no protobuf serializer")
	}
	return &Codec{
		decoder: scheme.Codecs.UniversalDeserializer(),
		stream:  info.StreamSerializer.Serializer,
		proto:   info.Serializer,
	}
}

// Encode returns obj in protobuf. obj must be of a built-in type of the
// given group version; it is stamped with its kind. Unlike a versioning
// encoder this does no conversion or defaulting, which hollow nodes never
// need and which cost more than the encoding itself on every heartbeat.
func (c *Codec) Encode(obj runtime.Object, gv schema.GroupVersion) ([]byte, error) {
	kinds, _, err := scheme.Scheme.ObjectKinds(obj)
	if err != nil {
		return nil, fmt.Errorf("encoding %T: %w", obj, err)
	}
	obj.GetObjectKind().SetGroupVersionKind(gv.WithKind(kinds[0].Kind))
	var buf bytes.Buffer
	if err := c.proto.Encode(obj, &buf); err != nil {
		return nil, fmt.Errorf("encoding %T: %w", obj, err)
	}
	return buf.Bytes(), nil
}

// Decode reads a response body in protobuf or JSON.
func (c *Codec) Decode(body []byte) (runtime.Object, error) {
	obj, _, err := c.decoder.Decode(body, nil, nil)
	return obj, err
}

// decodeEvent reads one watch frame.
func (c *Codec) decodeEvent(frame []byte) (watch.EventType, runtime.Object, error) {
	var ev metav1.WatchEvent
	if _, _, err := c.stream.Decode(frame, nil, &ev); err != nil {
		return "", nil, fmt.Errorf("decoding watch event: %w", err)
	}
	obj, err := c.Decode(ev.Object.Raw)
	if err != nil {
		return "", nil, fmt.Errorf("decoding %s event object: %w", ev.Type, err)
	}
	return watch.EventType(ev.Type), obj, nil
}

// event is what a list-watch reads of a watch frame.
type event struct {
	typ watch.EventType
	rv  string
	// initialEnd marks the bookmark that ends a streaming list's initial
	// events.
	initialEnd bool
	// obj is nil for a bookmark, and when the handler does not use it.
	obj runtime.Object
}

// readEvent reads a watch frame, decoding its object only when someone
// will look at it: not a bookmark's, nor one the handler ignores (unused).
func (c *Codec) readEvent(frame []byte, unused bool) (event, error) {
	if typ, raw, err := splitEvent(frame); err == nil && typ != string(watch.Error) {
		if m, err := objectMeta(raw, initialEventsEnd); err == nil {
			ev := event{typ: watch.EventType(typ), rv: m.rv, initialEnd: m.annotated}
			if ev.typ != watch.Bookmark && !unused {
				if ev.obj, err = c.Decode(raw); err != nil {
					return event{}, fmt.Errorf("decoding %s event object: %w", typ, err)
				}
			}
			return ev, nil
		}
	}
	// An error event, or what the wire reader does not know: whole.
	typ, obj, err := c.decodeEvent(frame)
	if err != nil {
		return event{}, err
	}
	ev := event{typ: typ, obj: obj}
	if acc, err := meta.Accessor(obj); err == nil {
		ev.rv, ev.initialEnd = acc.GetResourceVersion(), acc.GetAnnotations()[initialEventsEnd] == "true"
	}
	return ev, nil
}

// maxPrealloc bounds the room reserved for a frame on the word of its
// length prefix alone.
const maxPrealloc = 1 << 20

// frameReader splits a protobuf watch stream into its length-prefixed
// frames. It keeps only an incomplete frame between calls.
type frameReader struct {
	partial []byte
}

// feed adds p and calls emit for each complete frame.
func (r *frameReader) feed(p []byte, emit func(frame []byte) bool) {
	data := p
	if len(r.partial) > 0 {
		r.partial = append(r.partial, p...)
		data = r.partial
	}
	for len(data) >= 4 {
		n := int(binary.BigEndian.Uint32(data))
		if len(data) < 4+n {
			break
		}
		if !emit(data[4 : 4+n]) {
			r.partial = nil
			return
		}
		data = data[4+n:]
	}
	switch {
	case len(data) == 0:
		r.partial = nil // drop the buffer: idle watches keep no memory
	case len(r.partial) > 0:
		r.partial = append(r.partial[:0], data...)
	case len(data) >= 4 && binary.BigEndian.Uint32(data) <= maxPrealloc:
		// The rest of the frame follows (the server writes its length
		// apart): room for all of it at once.
		r.partial = append(make([]byte, 0, 4+int(binary.BigEndian.Uint32(data))), data...)
	default:
		r.partial = append([]byte(nil), data...)
	}
}
