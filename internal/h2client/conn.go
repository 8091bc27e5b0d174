// Package h2client is a small HTTP/2 client for holding thousands of
// connections and streams in one process at almost no cost per stream.
//
// net/http's transport spends a goroutine on every streaming response (a
// watch) plus buffers that stay allocated while the stream idles. Here a
// connection has one goroutine, its frame reader, and hands each stream's
// bytes to a Handler as they arrive; idle connections keep no frame buffers.
// Sends never wait for flow control: body bytes beyond the peer's window are
// parked and sent when the window opens, so handlers may start requests from
// the reader goroutine without deadlocking it.
package h2client

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Flow-control windows we grant the server. Handlers consume data as it
// arrives, so large windows cost no memory and keep LIST responses flowing.
const (
	streamWindow  = 1 << 20
	connWindow    = 1 << 24
	maxFrameSize  = 16384 // the protocol's minimum maximum; we never ask for more
	writeDeadline = 30 * time.Second
)

// ErrClosed is returned for streams on a connection that has ended.
var ErrClosed = errors.New("h2client: connection closed")

// ErrCanceled is passed to a Handler whose stream was canceled.
var ErrCanceled = errors.New("h2client: stream canceled")

// Handler receives one stream's response. Its methods run on the
// connection's reader goroutine, one at a time, and must not block; p is
// only valid during the call. Close is called exactly once, with nil after a
// complete response.
type Handler interface {
	Headers(status int, fields []hpack.HeaderField)
	Data(p []byte)
	Close(err error)
}

// Request is one HTTP/2 request. Header holds regular (non-pseudo) fields
// with lower-case names.
type Request struct {
	Method string
	Path   string
	Header []hpack.HeaderField
	Body   []byte
}

// StreamError is a stream reset by the peer.
type StreamError struct{ Code http2.ErrCode }

func (e StreamError) Error() string { return "h2client: stream reset by peer: " + e.Code.String() }

// GoAwayError is given to streams the server will not process because it is
// going away; they can be retried on another connection.
type GoAwayError struct{ Code http2.ErrCode }

func (e GoAwayError) Error() string { return "h2client: server going away: " + e.Code.String() }

// Conn is one HTTP/2 connection.
type Conn struct {
	netConn   net.Conn
	authority string

	wmu     sync.Mutex // guards writes: fw, the hpack encoder and hbuf
	fw      frameWriter
	henc    *hpack.Encoder
	hbuf    bytes.Buffer
	pending []*stream // streams with body bytes waiting for window

	mu              sync.Mutex
	streams         map[uint32]*stream
	nextID          uint32
	maxStreams      uint32
	peerInitWindow  int32
	peerMaxFrame    uint32
	sendWindow      int32
	connUnacked     uint32
	goingAway       bool
	closed          bool
	err             error
	hdec            *hpack.Decoder
	headerBlock     []byte
	headerStreamID  uint32
	headerEndStream bool
}

type stream struct {
	id         uint32
	h          Handler
	sendWindow int32
	unacked    uint32
	body       []byte // not yet sent
	gotHeaders bool
	done       bool
}

// Dial opens a TLS connection to addr, negotiates h2 and starts the frame
// reader.
func Dial(ctx context.Context, addr string, tlsConfig *tls.Config) (*Conn, error) {
	cfg := tlsConfig.Clone()
	cfg.NextProtos = []string{"h2"}
	dialer := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}, Config: cfg}
	nc, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dialing %s: %w", addr, err)
	}
	if proto := nc.(*tls.Conn).ConnectionState().NegotiatedProtocol; proto != "h2" {
		nc.Close()
		return nil, fmt.Errorf("%s does not speak HTTP/2 (negotiated %q)", addr, proto)
	}
	c := &Conn{
		netConn:        nc,
		authority:      addr,
		streams:        map[uint32]*stream{},
		nextID:         1,
		maxStreams:     100, // until the server says otherwise
		peerInitWindow: 65535,
		peerMaxFrame:   16384,
		sendWindow:     65535,
		hdec:           hpack.NewDecoder(4096, nil),
	}
	c.henc = hpack.NewEncoder(&c.hbuf)
	// No dynamic header table either way: it would cost 4 KB per direction
	// per connection, and loopback bytes are cheap.
	c.henc.SetMaxDynamicTableSizeLimit(0)
	if err := c.handshake(); err != nil {
		nc.Close()
		return nil, fmt.Errorf("starting HTTP/2 with %s: %w", addr, err)
	}
	go c.readLoop()
	return c, nil
}

func (c *Conn) handshake() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.startWrite()
	c.fw.buf = append(c.fw.buf, http2.ClientPreface...)
	c.fw.settings(
		http2.Setting{ID: http2.SettingEnablePush, Val: 0},
		http2.Setting{ID: http2.SettingHeaderTableSize, Val: 0},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: streamWindow},
		http2.Setting{ID: http2.SettingMaxFrameSize, Val: maxFrameSize},
	)
	c.fw.windowUpdate(0, connWindow-65535)
	return c.flushLocked()
}

// writePool lends write buffers for the span of one flush.
var writePool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// startWrite borrows a buffer for frames. Callers hold wmu and call
// flushLocked next.
func (c *Conn) startWrite() {
	if c.fw.buf == nil {
		c.fw.buf = (*writePool.Get().(*[]byte))[:0]
	}
}

// send writes the frames that write appends, at once.
func (c *Conn) send(write func(*frameWriter)) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.startWrite()
	write(&c.fw)
	c.flushLocked()
}

// flushLocked sends the buffered frames and returns the buffer. Callers
// hold wmu.
func (c *Conn) flushLocked() error {
	buf := c.fw.buf
	c.fw.buf = nil
	if buf == nil {
		return nil
	}
	var err error
	if len(buf) > 0 {
		c.netConn.SetWriteDeadline(time.Now().Add(writeDeadline))
		_, err = c.netConn.Write(buf)
	}
	if cap(buf) <= 64<<10 {
		writePool.Put(&buf)
	}
	if err != nil {
		go c.fail(fmt.Errorf("writing to %s: %w", c.authority, err))
	}
	return err
}

// Available reports how many more streams the connection accepts now.
func (c *Conn) Available() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.goingAway {
		return 0
	}
	return int(c.maxStreams) - len(c.streams)
}

// Err returns why the connection closed, or nil while it is open.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Stream identifies a started request, for canceling it.
type Stream struct {
	c *Conn
	s *stream
}

// Do starts req and returns at once; h receives the response. Do fails, and
// then never calls h, when the connection is closed, going away, or at the
// server's stream limit. Otherwise h.Close is called exactly once, never
// from within Do.
func (c *Conn) Do(req *Request, h Handler) (*Stream, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.mu.Lock()
	switch {
	case c.closed:
		err := c.err
		c.mu.Unlock()
		return nil, fmt.Errorf("%w: %v", ErrClosed, err)
	case c.goingAway:
		c.mu.Unlock()
		return nil, GoAwayError{Code: http2.ErrCodeNo}
	case uint32(len(c.streams)) >= c.maxStreams:
		c.mu.Unlock()
		return nil, fmt.Errorf("h2client: %s allows at most %d concurrent streams", c.authority, c.maxStreams)
	}
	s := &stream{id: c.nextID, h: h, sendWindow: c.peerInitWindow, body: req.Body}
	c.nextID += 2
	c.streams[s.id] = s
	maxFrame := int(c.peerMaxFrame) // SETTINGS may change it under c.mu
	c.mu.Unlock()

	c.startWrite()
	c.writeHeadersLocked(s.id, req, maxFrame)
	if len(req.Body) > 0 {
		c.sendBodyLocked(s)
	}
	// A failed write fails the connection asynchronously, which closes the
	// stream through its handler like any other connection loss.
	c.flushLocked()
	return &Stream{c: c, s: s}, nil
}

func (c *Conn) writeHeadersLocked(id uint32, req *Request, maxFrame int) {
	c.hbuf.Reset()
	enc := func(name, value string) { c.henc.WriteField(hpack.HeaderField{Name: name, Value: value}) }
	enc(":method", req.Method)
	enc(":scheme", "https")
	enc(":authority", c.authority)
	enc(":path", req.Path)
	for _, f := range req.Header {
		c.henc.WriteField(f)
	}
	if len(req.Body) > 0 {
		enc("content-length", strconv.Itoa(len(req.Body)))
	}
	c.fw.headers(id, len(req.Body) == 0, c.hbuf.Bytes(), maxFrame)
}

// sendBodyLocked writes as much of the stream's body as the windows allow
// and parks the rest. Callers hold wmu.
func (c *Conn) sendBodyLocked(s *stream) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(s.body) > 0 && !s.done {
		n := min(int32(len(s.body)), s.sendWindow, c.sendWindow, int32(c.peerMaxFrame))
		if n <= 0 {
			c.pending = append(c.pending, s)
			return
		}
		chunk := s.body[:n]
		s.body = s.body[n:]
		s.sendWindow -= n
		c.sendWindow -= n
		c.fw.data(s.id, len(s.body) == 0, chunk)
	}
	s.body = nil
}

// Cancel resets the stream and closes its handler with ErrCanceled, from the
// caller's goroutine, unless the stream has already ended.
func (s *Stream) Cancel() {
	c := s.c
	c.mu.Lock()
	live := !s.s.done && !c.closed
	c.mu.Unlock()
	if live {
		c.send(func(w *frameWriter) { w.rstStream(s.s.id, http2.ErrCodeCancel) })
	}
	c.closeStream(s.s, ErrCanceled)
}

// closeStream forgets s and tells its handler, once.
func (c *Conn) closeStream(s *stream, err error) {
	c.mu.Lock()
	if s.done {
		c.mu.Unlock()
		return
	}
	s.done = true
	s.body = nil
	delete(c.streams, s.id)
	c.mu.Unlock()
	s.h.Close(err)
}

// Close shuts the connection down; open streams get ErrClosed.
func (c *Conn) Close() error {
	c.send(func(w *frameWriter) { w.goAway(http2.ErrCodeNo) })
	c.fail(ErrClosed)
	return nil
}

// fail ends the connection with err: every open stream is closed with it.
func (c *Conn) fail(err error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.err = err
	streams := make([]*stream, 0, len(c.streams))
	for _, s := range c.streams {
		streams = append(streams, s)
	}
	c.mu.Unlock()
	c.netConn.Close()
	for _, s := range streams {
		c.closeStream(s, fmt.Errorf("%w: %v", ErrClosed, err))
	}
}

// framePool holds payload buffers while a frame is being handled, so that an
// idle connection keeps none.
var framePool = sync.Pool{New: func() any { b := make([]byte, maxFrameSize); return &b }}

func (c *Conn) readLoop() {
	var err error
	for err == nil {
		var fh http2.FrameHeader
		fh, err = http2.ReadFrameHeader(c.netConn)
		if err != nil {
			break
		}
		if fh.Length > maxFrameSize {
			err = fmt.Errorf("frame of %d bytes exceeds the %d we allow", fh.Length, maxFrameSize)
			break
		}
		bufp := framePool.Get().(*[]byte)
		payload := (*bufp)[:fh.Length]
		if _, err = io.ReadFull(c.netConn, payload); err == nil {
			err = c.handleFrame(fh, payload)
		}
		framePool.Put(bufp)
	}
	if errors.Is(err, io.EOF) {
		err = fmt.Errorf("%s closed the connection", c.authority)
	}
	c.fail(err)
}

func (c *Conn) handleFrame(fh http2.FrameHeader, p []byte) error {
	switch fh.Type {
	case http2.FrameData:
		return c.onData(fh, p)
	case http2.FrameHeaders:
		return c.onHeaders(fh, p)
	case http2.FrameContinuation:
		return c.onContinuation(fh, p)
	case http2.FrameRSTStream:
		if len(p) != 4 {
			return errors.New("malformed RST_STREAM")
		}
		if s := c.lookup(fh.StreamID); s != nil {
			c.closeStream(s, StreamError{Code: http2.ErrCode(binary.BigEndian.Uint32(p))})
		}
	case http2.FrameSettings:
		return c.onSettings(fh, p)
	case http2.FramePing:
		if fh.Flags&http2.FlagPingAck == 0 && len(p) == 8 {
			c.send(func(w *frameWriter) { w.pingAck(p) })
		}
	case http2.FrameGoAway:
		return c.onGoAway(p)
	case http2.FrameWindowUpdate:
		return c.onWindowUpdate(fh, p)
	case http2.FramePushPromise:
		return errors.New("server pushed although push is disabled")
	}
	return nil
}

func (c *Conn) lookup(id uint32) *stream {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.streams[id]
}

// unpad strips the padding of DATA and HEADERS frames.
func unpad(fh http2.FrameHeader, p []byte) ([]byte, error) {
	if fh.Flags&http2.FlagDataPadded == 0 {
		return p, nil
	}
	if len(p) == 0 || int(p[0]) >= len(p) {
		return nil, errors.New("malformed padding")
	}
	return p[1 : len(p)-int(p[0])], nil
}

func (c *Conn) onData(fh http2.FrameHeader, p []byte) error {
	data, err := unpad(fh, p)
	if err != nil {
		return err
	}
	s := c.lookup(fh.StreamID)
	if s != nil && len(data) > 0 {
		s.h.Data(data)
	}
	c.consumed(s, uint32(len(p)))
	if s != nil && fh.Flags&http2.FlagDataEndStream != 0 {
		c.closeStream(s, nil)
	}
	return nil
}

// consumed returns flow-control credit once half a window has been used, so
// the server never waits on us.
func (c *Conn) consumed(s *stream, n uint32) {
	if n == 0 {
		return
	}
	c.mu.Lock()
	c.connUnacked += n
	var connInc, streamInc uint32
	if c.connUnacked >= connWindow/2 {
		connInc, c.connUnacked = c.connUnacked, 0
	}
	if s != nil && !s.done {
		s.unacked += n
		if s.unacked >= streamWindow/2 {
			streamInc, s.unacked = s.unacked, 0
		}
	}
	c.mu.Unlock()
	if connInc == 0 && streamInc == 0 {
		return
	}
	c.send(func(w *frameWriter) {
		if connInc > 0 {
			w.windowUpdate(0, connInc)
		}
		if streamInc > 0 {
			w.windowUpdate(s.id, streamInc)
		}
	})
}

func (c *Conn) onHeaders(fh http2.FrameHeader, p []byte) error {
	block, err := unpad(fh, p)
	if err != nil {
		return err
	}
	if fh.Flags&http2.FlagHeadersPriority != 0 {
		if len(block) < 5 {
			return errors.New("malformed HEADERS priority")
		}
		block = block[5:]
	}
	c.headerStreamID = fh.StreamID
	c.headerEndStream = fh.Flags&http2.FlagHeadersEndStream != 0
	c.headerBlock = append(c.headerBlock[:0], block...)
	if fh.Flags&http2.FlagHeadersEndHeaders != 0 {
		return c.endHeaders()
	}
	return nil
}

func (c *Conn) onContinuation(fh http2.FrameHeader, p []byte) error {
	if fh.StreamID != c.headerStreamID || c.headerStreamID == 0 {
		return errors.New("unexpected CONTINUATION")
	}
	c.headerBlock = append(c.headerBlock, p...)
	if fh.Flags&http2.FlagContinuationEndHeaders != 0 {
		return c.endHeaders()
	}
	return nil
}

func (c *Conn) endHeaders() error {
	// Every header block goes through the decoder, even for streams we have
	// forgotten: the decoder's state spans the connection.
	fields, err := c.hdec.DecodeFull(c.headerBlock)
	c.headerBlock = nil
	id, endStream := c.headerStreamID, c.headerEndStream
	c.headerStreamID = 0
	if err != nil {
		return fmt.Errorf("decoding headers: %w", err)
	}
	s := c.lookup(id)
	if s == nil {
		return nil
	}
	if !s.gotHeaders {
		status := 0
		for _, f := range fields {
			if f.Name == ":status" {
				status, _ = strconv.Atoi(f.Value)
			}
		}
		if status >= 100 && status < 200 {
			return nil // informational; the real response follows
		}
		s.gotHeaders = true
		s.h.Headers(status, fields)
	}
	if endStream {
		c.closeStream(s, nil)
	}
	return nil
}

func (c *Conn) onSettings(fh http2.FrameHeader, p []byte) error {
	if fh.Flags&http2.FlagSettingsAck != 0 {
		return nil
	}
	if len(p)%6 != 0 {
		return errors.New("malformed SETTINGS")
	}
	c.mu.Lock()
	for i := 0; i < len(p); i += 6 {
		id := http2.SettingID(binary.BigEndian.Uint16(p[i:]))
		val := binary.BigEndian.Uint32(p[i+2:])
		switch id {
		case http2.SettingMaxConcurrentStreams:
			c.maxStreams = val
		case http2.SettingInitialWindowSize:
			delta := int32(val) - c.peerInitWindow
			c.peerInitWindow = int32(val)
			for _, s := range c.streams {
				s.sendWindow += delta
			}
		case http2.SettingMaxFrameSize:
			c.peerMaxFrame = val
		}
	}
	c.mu.Unlock()
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.startWrite()
	c.fw.settingsAck()
	c.flushPendingLocked()
	return c.flushLocked()
}

func (c *Conn) onGoAway(p []byte) error {
	if len(p) < 8 {
		return errors.New("malformed GOAWAY")
	}
	last := binary.BigEndian.Uint32(p) & (1<<31 - 1)
	code := http2.ErrCode(binary.BigEndian.Uint32(p[4:]))
	c.mu.Lock()
	c.goingAway = true
	var refused []*stream
	for id, s := range c.streams {
		if id > last {
			refused = append(refused, s)
		}
	}
	c.mu.Unlock()
	for _, s := range refused {
		c.closeStream(s, GoAwayError{Code: code})
	}
	return nil
}

func (c *Conn) onWindowUpdate(fh http2.FrameHeader, p []byte) error {
	if len(p) != 4 {
		return errors.New("malformed WINDOW_UPDATE")
	}
	inc := int32(binary.BigEndian.Uint32(p) & (1<<31 - 1))
	c.mu.Lock()
	if fh.StreamID == 0 {
		c.sendWindow += inc
	} else if s := c.streams[fh.StreamID]; s != nil {
		s.sendWindow += inc
	}
	hasPending := len(c.pending) > 0
	c.mu.Unlock()
	if !hasPending {
		return nil
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.startWrite()
	c.flushPendingLocked()
	return c.flushLocked()
}

// flushPendingLocked sends parked body bytes that now fit. Callers hold wmu.
func (c *Conn) flushPendingLocked() {
	waiting := c.pending
	c.pending = nil
	for _, s := range waiting {
		c.sendBodyLocked(s)
	}
}
