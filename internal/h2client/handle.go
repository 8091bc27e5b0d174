package h2client

import (
	"encoding/binary"
	"strconv"

	"golang.org/x/net/http2"
)

// The frame handlers run on the reader goroutine. A returned error is a
// connection error: the reader sends GOAWAY with its code and closes the
// connection. A protocol violation confined to one stream resets that
// stream only (resetStream).

// lookup returns the open stream id, or nil. A stream canceled since its
// last frame is closed here, so that its handler hears nothing more.
func (r *reader) lookup(id uint32) *stream {
	c := r.c
	c.mu.Lock()
	s := c.streams[id]
	canceled := s != nil && s.canceled
	c.mu.Unlock()
	if canceled {
		r.closeStream(s, ErrCanceled)
		return nil
	}
	return s
}

// checkOpened rejects frames for streams we never opened: server-initiated
// (even) ones, push being disabled, and odd ones beyond our last.
func (r *reader) checkOpened(t http2.FrameType, id uint32) error {
	c := r.c
	c.mu.Lock()
	next := c.nextID
	c.mu.Unlock()
	if id == 0 || id%2 == 0 || id >= next {
		return connError(http2.ErrCodeProtocol, "%s on stream %d, which we never opened", t, id)
	}
	return nil
}

// resetStream ends s for a protocol violation of the server's.
func (r *reader) resetStream(s *stream, code http2.ErrCode) {
	r.c.send(func(w *frameWriter) { w.rstStream(s.id, code) })
	r.closeStream(s, StreamError{Code: code, Local: true})
}

// unpad strips the padding of DATA and HEADERS frames.
func unpad(fh http2.FrameHeader, p []byte) ([]byte, error) {
	if fh.Flags&http2.FlagDataPadded == 0 { // same bit as HEADERS'
		return p, nil
	}
	if len(p) == 0 || int(p[0]) >= len(p) {
		return nil, connError(http2.ErrCodeProtocol, "%s padding longer than the frame", fh.Type)
	}
	return p[1 : len(p)-int(p[0])], nil
}

func (r *reader) onData(fh http2.FrameHeader, p []byte) error {
	if err := r.checkOpened(fh.Type, fh.StreamID); err != nil {
		return err
	}
	n := int32(len(p)) // padding counts against the windows too
	if n > r.recvWindow {
		return connError(http2.ErrCodeFlowControl, "DATA of %d bytes beyond the connection window of %d", n, r.recvWindow)
	}
	r.recvWindow -= n
	data, err := unpad(fh, p)
	if err != nil {
		return err
	}
	s := r.lookup(fh.StreamID)
	switch {
	case s == nil:
		// Closed on our side; the server may not know yet.
	case n > s.recvWindow:
		r.resetStream(s, http2.ErrCodeFlowControl)
		s = nil
	case !s.gotHeaders:
		r.resetStream(s, http2.ErrCodeProtocol) // a response starts with HEADERS
		s = nil
	default:
		s.recvWindow -= n
		if len(data) > 0 {
			s.h.Data(data)
		}
	}
	r.credit(s, uint32(n))
	if s != nil && fh.Flags&http2.FlagDataEndStream != 0 {
		r.closeStream(s, nil)
	}
	return nil
}

// credit returns flow-control credit once half a window has been used, so
// the server never waits on us.
func (r *reader) credit(s *stream, n uint32) {
	if n == 0 {
		return
	}
	r.connUnacked += n
	var connInc, streamInc uint32
	if r.connUnacked >= connWindow/2 {
		connInc, r.connUnacked = r.connUnacked, 0
		r.recvWindow += int32(connInc)
	}
	if s != nil && !s.done {
		s.unacked += n
		if s.unacked >= streamWindow/2 {
			streamInc, s.unacked = s.unacked, 0
			s.recvWindow += int32(streamInc)
		}
	}
	if connInc == 0 && streamInc == 0 {
		return
	}
	r.c.send(func(w *frameWriter) {
		if connInc > 0 {
			w.windowUpdate(0, connInc)
		}
		if streamInc > 0 {
			w.windowUpdate(s.id, streamInc)
		}
	})
}

func (r *reader) onHeaders(fh http2.FrameHeader, p []byte) error {
	if err := r.checkOpened(fh.Type, fh.StreamID); err != nil {
		return err
	}
	block, err := unpad(fh, p)
	if err != nil {
		return err
	}
	if fh.Flags&http2.FlagHeadersPriority != 0 {
		if len(block) < 5 {
			return connError(http2.ErrCodeFrameSize, "HEADERS too short for its priority fields")
		}
		block = block[5:]
	}
	r.headerStreamID = fh.StreamID
	r.headerEndStream = fh.Flags&http2.FlagHeadersEndStream != 0
	r.headerBlock = append(r.headerBlock[:0], block...)
	if fh.Flags&http2.FlagHeadersEndHeaders != 0 {
		return r.endHeaders()
	}
	return nil
}

func (r *reader) onContinuation(fh http2.FrameHeader, p []byte) error {
	if fh.StreamID != r.headerStreamID || r.headerStreamID == 0 {
		return connError(http2.ErrCodeProtocol, "CONTINUATION on stream %d outside a header block", fh.StreamID)
	}
	if len(r.headerBlock)+len(p) > maxHeaderBlock {
		return connError(http2.ErrCodeEnhanceYourCalm, "header block beyond %d bytes", maxHeaderBlock)
	}
	r.headerBlock = append(r.headerBlock, p...)
	if fh.Flags&http2.FlagContinuationEndHeaders != 0 {
		return r.endHeaders()
	}
	return nil
}

func (r *reader) endHeaders() error {
	// Every header block goes through the decoder, even for streams we have
	// forgotten: the decoder's state spans the connection.
	fields, err := r.hdec.DecodeFull(r.headerBlock)
	r.headerBlock = nil
	id, endStream := r.headerStreamID, r.headerEndStream
	r.headerStreamID = 0
	if err != nil {
		return connError(http2.ErrCodeCompression, "decoding headers: %v", err)
	}
	s := r.lookup(id)
	if s == nil {
		return nil
	}
	if s.gotHeaders { // trailers
		if !endStream {
			r.resetStream(s, http2.ErrCodeProtocol)
			return nil
		}
		r.closeStream(s, nil)
		return nil
	}
	status := -1
	for _, f := range fields {
		if f.Name == ":status" {
			status, err = strconv.Atoi(f.Value)
			if err != nil || len(f.Value) != 3 {
				status = -1
			}
		}
	}
	switch {
	case status < 100:
		r.resetStream(s, http2.ErrCodeProtocol)
		return nil
	case status < 200:
		if endStream {
			r.resetStream(s, http2.ErrCodeProtocol)
		}
		return nil // informational; the real response follows
	}
	s.gotHeaders = true
	s.h.Headers(status, fields)
	if endStream {
		r.closeStream(s, nil)
	}
	return nil
}

func (r *reader) onRSTStream(fh http2.FrameHeader, p []byte) error {
	if len(p) != 4 {
		return connError(http2.ErrCodeFrameSize, "RST_STREAM of %d bytes", len(p))
	}
	if err := r.checkOpened(fh.Type, fh.StreamID); err != nil {
		return err
	}
	if s := r.lookup(fh.StreamID); s != nil {
		r.closeStream(s, StreamError{Code: http2.ErrCode(binary.BigEndian.Uint32(p))})
	}
	return nil
}

func (r *reader) onSettings(fh http2.FrameHeader, p []byte) error {
	switch {
	case fh.StreamID != 0:
		return connError(http2.ErrCodeProtocol, "SETTINGS on stream %d", fh.StreamID)
	case fh.Flags&http2.FlagSettingsAck != 0 && len(p) != 0:
		return connError(http2.ErrCodeFrameSize, "SETTINGS ACK with a payload")
	case fh.Flags&http2.FlagSettingsAck != 0:
		return nil
	case len(p)%6 != 0:
		return connError(http2.ErrCodeFrameSize, "SETTINGS of %d bytes", len(p))
	}
	settings := make([]http2.Setting, 0, len(p)/6)
	for i := 0; i < len(p); i += 6 {
		s := http2.Setting{ID: http2.SettingID(binary.BigEndian.Uint16(p[i:])), Val: binary.BigEndian.Uint32(p[i+2:])}
		if err := validSetting(s); err != nil {
			return err
		}
		settings = append(settings, s)
	}
	if err := r.c.applySettings(settings); err != nil {
		return err
	}
	c := r.c
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.startWrite()
	c.fw.settingsAck()
	c.flushPendingLocked()
	c.flushLocked()
	return nil
}

func validSetting(s http2.Setting) error {
	switch s.ID {
	case http2.SettingEnablePush:
		if s.Val != 0 {
			return connError(http2.ErrCodeProtocol, "server set ENABLE_PUSH to %d", s.Val)
		}
	case http2.SettingInitialWindowSize:
		if s.Val > maxWindow {
			return connError(http2.ErrCodeFlowControl, "INITIAL_WINDOW_SIZE %d beyond 2^31-1", s.Val)
		}
	case http2.SettingMaxFrameSize:
		if s.Val < 16384 || s.Val > 1<<24-1 {
			return connError(http2.ErrCodeProtocol, "MAX_FRAME_SIZE %d outside [2^14, 2^24-1]", s.Val)
		}
	}
	return nil
}

func (c *Conn) applySettings(settings []http2.Setting) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range settings {
		switch s.ID {
		case http2.SettingMaxConcurrentStreams:
			c.maxStreams = s.Val
		case http2.SettingInitialWindowSize:
			delta := int64(s.Val) - int64(c.peerInitWindow)
			for _, st := range c.streams {
				if int64(st.sendWindow)+delta > maxWindow {
					return connError(http2.ErrCodeFlowControl, "INITIAL_WINDOW_SIZE %d overflows stream %d's window", s.Val, st.id)
				}
			}
			c.peerInitWindow = int32(s.Val)
			for _, st := range c.streams {
				st.sendWindow += int32(delta)
			}
		case http2.SettingMaxFrameSize:
			c.peerMaxFrame = s.Val
		}
	}
	return nil
}

func (r *reader) onPing(fh http2.FrameHeader, p []byte) error {
	switch {
	case fh.StreamID != 0:
		return connError(http2.ErrCodeProtocol, "PING on stream %d", fh.StreamID)
	case len(p) != 8:
		return connError(http2.ErrCodeFrameSize, "PING of %d bytes", len(p))
	case fh.Flags&http2.FlagPingAck != 0:
		return nil // the read itself cleared the outstanding PING
	}
	r.c.send(func(w *frameWriter) { w.ping(true, p) })
	return nil
}

func (r *reader) onGoAway(fh http2.FrameHeader, p []byte) error {
	switch {
	case fh.StreamID != 0:
		return connError(http2.ErrCodeProtocol, "GOAWAY on stream %d", fh.StreamID)
	case len(p) < 8:
		return connError(http2.ErrCodeFrameSize, "GOAWAY of %d bytes", len(p))
	}
	ga := GoAwayError{
		LastStreamID: binary.BigEndian.Uint32(p) & (1<<31 - 1),
		Code:         http2.ErrCode(binary.BigEndian.Uint32(p[4:])),
		Debug:        string(p[8:min(len(p), 8+256)]),
	}
	c := r.c
	c.mu.Lock()
	if c.goAway != nil {
		// A later GOAWAY may only lower the last stream ID.
		ga.LastStreamID = min(ga.LastStreamID, c.goAway.LastStreamID)
	}
	c.goAway = &ga
	var refused []*stream
	for id, s := range c.streams {
		if id > ga.LastStreamID {
			refused = append(refused, s)
		}
	}
	c.mu.Unlock()
	for _, s := range refused {
		r.closeStream(s, ga)
	}
	return nil
}

func (r *reader) onWindowUpdate(fh http2.FrameHeader, p []byte) error {
	if len(p) != 4 {
		return connError(http2.ErrCodeFrameSize, "WINDOW_UPDATE of %d bytes", len(p))
	}
	inc := int64(binary.BigEndian.Uint32(p) & (1<<31 - 1))
	if fh.StreamID == 0 {
		return r.c.growSendWindow(inc)
	}
	if err := r.checkOpened(fh.Type, fh.StreamID); err != nil {
		return err
	}
	s := r.lookup(fh.StreamID)
	if s == nil {
		return nil
	}
	c := r.c
	c.mu.Lock()
	code := http2.ErrCodeNo
	switch {
	case inc == 0:
		code = http2.ErrCodeProtocol
	case int64(s.sendWindow)+inc > maxWindow:
		code = http2.ErrCodeFlowControl
	default:
		s.sendWindow += int32(inc)
	}
	c.mu.Unlock()
	if code != http2.ErrCodeNo {
		r.resetStream(s, code)
		return nil
	}
	c.sendParked()
	return nil
}

func (c *Conn) growSendWindow(inc int64) error {
	c.mu.Lock()
	switch {
	case inc == 0:
		c.mu.Unlock()
		return connError(http2.ErrCodeProtocol, "WINDOW_UPDATE of 0 for the connection")
	case int64(c.sendWindow)+inc > maxWindow:
		c.mu.Unlock()
		return connError(http2.ErrCodeFlowControl, "WINDOW_UPDATE overflows the connection window")
	}
	c.sendWindow += int32(inc)
	c.mu.Unlock()
	c.sendParked()
	return nil
}

// sendParked sends body bytes that waited for window, if any.
func (c *Conn) sendParked() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if len(c.pending) == 0 {
		return
	}
	c.startWrite()
	c.flushPendingLocked()
	c.flushLocked()
}
