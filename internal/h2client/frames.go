package h2client

import (
	"encoding/binary"

	"golang.org/x/net/http2"
)

// frameWriter appends HTTP/2 frames to a buffer that is borrowed for one
// write and then returned, so that idle connections hold no write buffer.
type frameWriter struct {
	buf []byte
}

func (w *frameWriter) header(length int, t http2.FrameType, flags http2.Flags, stream uint32) {
	w.buf = append(w.buf, byte(length>>16), byte(length>>8), byte(length), byte(t), byte(flags))
	w.buf = binary.BigEndian.AppendUint32(w.buf, stream&(1<<31-1))
}

func (w *frameWriter) settings(settings ...http2.Setting) {
	w.header(6*len(settings), http2.FrameSettings, 0, 0)
	for _, s := range settings {
		w.buf = binary.BigEndian.AppendUint16(w.buf, uint16(s.ID))
		w.buf = binary.BigEndian.AppendUint32(w.buf, s.Val)
	}
}

func (w *frameWriter) settingsAck() { w.header(0, http2.FrameSettings, http2.FlagSettingsAck, 0) }

func (w *frameWriter) windowUpdate(stream, inc uint32) {
	w.header(4, http2.FrameWindowUpdate, 0, stream)
	w.buf = binary.BigEndian.AppendUint32(w.buf, inc)
}

func (w *frameWriter) ping(ack bool, data []byte) {
	var flags http2.Flags
	if ack {
		flags = http2.FlagPingAck
	}
	w.header(8, http2.FramePing, flags, 0)
	w.buf = append(w.buf, data...)
}

func (w *frameWriter) rstStream(stream uint32, code http2.ErrCode) {
	w.header(4, http2.FrameRSTStream, 0, stream)
	w.buf = binary.BigEndian.AppendUint32(w.buf, uint32(code))
}

// goAway tells the server we are leaving; last is the last stream it
// started that we processed, always 0 for a client that accepts none.
func (w *frameWriter) goAway(last uint32, code http2.ErrCode) {
	w.header(8, http2.FrameGoAway, 0, 0)
	w.buf = binary.BigEndian.AppendUint32(w.buf, last)
	w.buf = binary.BigEndian.AppendUint32(w.buf, uint32(code))
}

func (w *frameWriter) data(stream uint32, endStream bool, p []byte) {
	var flags http2.Flags
	if endStream {
		flags = http2.FlagDataEndStream
	}
	w.header(len(p), http2.FrameData, flags, stream)
	w.buf = append(w.buf, p...)
}

// headers writes a header block as HEADERS plus CONTINUATION frames of at
// most maxFrame bytes.
func (w *frameWriter) headers(stream uint32, endStream bool, block []byte, maxFrame int) {
	first := true
	for first || len(block) > 0 {
		chunk := block[:min(len(block), maxFrame)]
		block = block[len(chunk):]
		var flags http2.Flags
		if len(block) == 0 {
			flags |= http2.FlagHeadersEndHeaders // same bit as CONTINUATION's
		}
		if first {
			if endStream {
				flags |= http2.FlagHeadersEndStream
			}
			w.header(len(chunk), http2.FrameHeaders, flags, stream)
			first = false
		} else {
			w.header(len(chunk), http2.FrameContinuation, flags, stream)
		}
		w.buf = append(w.buf, chunk...)
	}
}
