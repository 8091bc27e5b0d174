package kubeapi

import (
	"bytes"
	"errors"

	"google.golang.org/protobuf/encoding/protowire"
	"k8s.io/apimachinery/pkg/api/meta"
)

// What a list-watch or a lease renewal needs of an object is its resource
// version, and for a streaming list's bookmarks one annotation. These read
// them from the protobuf bytes without decoding the object: a hollow
// node's idle traffic is bookmarks, objects its handler ignores and lease
// answers, and decoding each whole (a Node is 7 KB, a Lease carries its
// managed fields) was a tenth of an idle pool's CPU and most of its
// garbage.

// envelopeMagic starts every protobuf-encoded object (runtime.Unknown).
var envelopeMagic = []byte{0x6b, 0x38, 0x73, 0x00}

var errNotProtobuf = errors.New("not a protobuf object")

// Field numbers of the messages read here (k8s.io/apimachinery's
// generated.proto): runtime.Unknown's raw, every API object's metadata,
// ObjectMeta's uid, resourceVersion and annotations, a map entry's key and
// value, metav1.WatchEvent's type and object, runtime.RawExtension's raw.
const (
	unknownRaw        = 2
	objectMetadata    = 1
	metaUID           = 5
	metaRV            = 6
	metaAnnotations   = 12
	entryKey          = 1
	entryValue        = 2
	watchEventType    = 1
	watchEventObject  = 2
	rawExtensionBytes = 1
)

// field returns the bytes of the last occurrence of field num, of wire type
// bytes, in message m; ok is false when m is malformed.
func field(m []byte, num protowire.Number, each func(v []byte)) bool {
	for len(m) > 0 {
		n, typ, l := protowire.ConsumeTag(m)
		if l < 0 {
			return false
		}
		m = m[l:]
		if n == num && typ == protowire.BytesType {
			v, l := protowire.ConsumeBytes(m)
			if l < 0 {
				return false
			}
			each(v)
			m = m[l:]
			continue
		}
		l = protowire.ConsumeFieldValue(n, typ, m)
		if l < 0 {
			return false
		}
		m = m[l:]
	}
	return true
}

// wireMeta is what is read of an object's metadata.
type wireMeta struct {
	uid, rv string
	// annotated: the annotation asked for is "true".
	annotated bool
}

// objectMeta reads an encoded object's uid and resource version, and
// whether it has annotation key set to "true".
func objectMeta(envelope []byte, key string) (wireMeta, error) {
	raw, ok := bytes.CutPrefix(envelope, envelopeMagic)
	if !ok {
		return wireMeta{}, errNotProtobuf
	}
	var object, meta []byte
	var m wireMeta
	ok = field(raw, unknownRaw, func(v []byte) { object = v }) &&
		field(object, objectMetadata, func(v []byte) { meta = v }) &&
		field(meta, metaUID, func(v []byte) { m.uid = string(v) }) &&
		field(meta, metaRV, func(v []byte) { m.rv = string(v) }) &&
		field(meta, metaAnnotations, func(entry []byte) {
			var k, v []byte
			field(entry, entryKey, func(b []byte) { k = b })
			field(entry, entryValue, func(b []byte) { v = b })
			if string(k) == key && string(v) == "true" {
				m.annotated = true
			}
		})
	if !ok || object == nil {
		return wireMeta{}, errNotProtobuf
	}
	return m, nil
}

// splitEvent reads a watch frame's event type and its object's encoding.
func splitEvent(frame []byte) (typ string, object []byte, err error) {
	ok := field(frame, watchEventType, func(v []byte) { typ = string(v) }) &&
		field(frame, watchEventObject, func(ext []byte) {
			field(ext, rawExtensionBytes, func(v []byte) { object = v })
		})
	if !ok || typ == "" {
		return "", nil, errNotProtobuf
	}
	return typ, object, nil
}

// Identity reads the uid and resource version of the object a response
// holds, decoding it whole only when it is not protobuf.
func (c *Codec) Identity(body []byte) (uid, rv string, err error) {
	if m, err := objectMeta(body, ""); err == nil {
		return m.uid, m.rv, nil
	}
	obj, err := c.Decode(body)
	if err != nil {
		return "", "", err
	}
	acc, err := meta.Accessor(obj)
	if err != nil {
		return "", "", err
	}
	return string(acc.GetUID()), acc.GetResourceVersion(), nil
}
