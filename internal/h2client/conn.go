// Package h2client is a small HTTP/2 client for holding thousands of
// connections and streams in one process at almost no cost per stream.
//
// net/http's transport spends goroutines on every streaming response (a
// watch) plus buffers that stay allocated while the stream idles. Here a
// connection has one goroutine, its frame reader, and hands each stream's
// bytes to a Handler as they arrive; idle connections keep no frame buffers.
// Every Handler call, Close included, runs on that goroutine: a Cancel or
// Close from elsewhere, or a lost connection, only queues the work and
// wakes the reader (see reader.go). Sends never wait for flow control: body
// bytes beyond the peer's window are parked and sent when the window opens,
// so handlers may start requests from the reader goroutine without
// deadlocking it.
package h2client

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
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
	// maxHeaderBlock bounds a response's header block: a server sending
	// more (a CONTINUATION flood) is cut off.
	maxHeaderBlock = 1 << 20
	maxWindow      = 1<<31 - 1
)

// Liveness defaults, client-go's (its HTTP/2 ReadIdleTimeout and
// PingTimeout): a connection silent for 30 s is pinged, and closed if the
// answer takes more than 15 s. Without it a connection to a server that
// vanished behind a load balancer holds its watches, silent, until TCP
// gives up minutes later.
const (
	DefaultPingAfter   = 30 * time.Second
	DefaultPingTimeout = 15 * time.Second
)

// Options tune a connection; the zero value is client-go's behaviour.
type Options struct {
	// PingAfter is how long the connection may be silent before we PING
	// the server: zero means DefaultPingAfter, negative never.
	PingAfter time.Duration
	// PingTimeout is how long the PING may go unanswered before the
	// connection is closed with ErrPingTimeout: zero means
	// DefaultPingTimeout.
	PingTimeout time.Duration
}

func (o Options) withDefaults() Options {
	if o.PingAfter == 0 {
		o.PingAfter = DefaultPingAfter
	}
	if o.PingTimeout <= 0 {
		o.PingTimeout = DefaultPingTimeout
	}
	return o
}

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

// Conn is one HTTP/2 connection.
type Conn struct {
	netConn   net.Conn
	authority string
	opts      Options

	wmu     sync.Mutex // guards writes: fw, the hpack encoder and hbuf
	fw      frameWriter
	henc    *hpack.Encoder
	hbuf    bytes.Buffer
	pending []*stream // streams with body bytes waiting for window

	mu             sync.Mutex
	streams        map[uint32]*stream
	reserved       int // slots promised by Reserve, not yet used
	nextID         uint32
	maxStreams     uint32
	peerInitWindow int32
	peerMaxFrame   uint32
	sendWindow     int32
	goAway         *GoAwayError // the server's last GOAWAY
	closed         bool
	err            error
	canceled       []*stream // for the reader to close
	draining       bool      // the reader is closing the remaining streams

	r reader // the reader goroutine's own state
}

type stream struct {
	id uint32
	h  Handler

	// Guarded by Conn.mu.
	sendWindow int32
	body       []byte // not yet sent
	canceled   bool
	done       bool // forgotten; its handler is closed or about to be

	// The reader goroutine's own.
	recvWindow int32
	unacked    uint32
	gotHeaders bool
}

// Dial opens a TLS connection to addr, negotiates h2 and starts the frame
// reader.
func Dial(ctx context.Context, addr string, tlsConfig *tls.Config, opts Options) (*Conn, error) {
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
	return NewConn(nc, addr, opts)
}

// NewConn speaks HTTP/2 over nc, an established connection to authority
// (TLS with h2 negotiated, or a peer known to speak HTTP/2), and starts
// the frame reader. On error nc is closed.
func NewConn(nc net.Conn, authority string, opts Options) (*Conn, error) {
	c := &Conn{
		netConn:        nc,
		authority:      authority,
		opts:           opts.withDefaults(),
		streams:        map[uint32]*stream{},
		nextID:         1,
		maxStreams:     100, // until the server says otherwise
		peerInitWindow: 65535,
		peerMaxFrame:   16384,
		sendWindow:     65535,
	}
	c.henc = hpack.NewEncoder(&c.hbuf)
	// No dynamic header table either way: it would cost 4 KB per direction
	// per connection, and loopback bytes are cheap.
	c.henc.SetMaxDynamicTableSizeLimit(0)
	c.r.init(c)
	if err := c.handshake(); err != nil {
		nc.Close()
		return nil, fmt.Errorf("starting HTTP/2 with %s: %w", authority, err)
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
// hold wmu. A failed write fails the connection, which closes its streams
// through their handlers on the reader goroutine like any other loss.
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
		c.fail(fmt.Errorf("writing to %s: %w", c.authority, err))
	}
	return err
}

// Err returns why the connection closed, or nil while it is open.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Reservation is a stream slot taken on a connection, so that a caller
// choosing among connections cannot lose the slot to another between
// choosing and sending. Use it once: Do, or Release.
type Reservation struct {
	c    *Conn
	used bool
}

// Reserve takes a stream slot. It fails with ErrStreamLimit when the
// connection carries as many streams (started and reserved) as the server
// allows, with a GoAwayError after the server's GOAWAY, and with ErrClosed
// once the connection has ended.
func (c *Conn) Reserve() (*Reservation, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.refusalLocked(); err != nil {
		return nil, err
	}
	if uint32(len(c.streams)+c.reserved) >= c.maxStreams {
		return nil, fmt.Errorf("%w (%d on %s)", ErrStreamLimit, c.maxStreams, c.authority)
	}
	c.reserved++
	return &Reservation{c: c}, nil
}

// refusalLocked says why no new stream may start, if one may not.
func (c *Conn) refusalLocked() error {
	switch {
	case c.closed:
		return fmt.Errorf("%w: %w", ErrClosed, c.err)
	case c.goAway != nil:
		return *c.goAway
	}
	return nil
}

// Release gives the slot back unused.
func (r *Reservation) Release() {
	if r.used {
		return
	}
	r.used = true
	c := r.c
	c.mu.Lock()
	c.reserved--
	c.mu.Unlock()
	c.wake() // a connection going away may now be idle
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
	r, err := c.Reserve()
	if err != nil {
		return nil, err
	}
	return r.Do(req, h)
}

// Do starts req in the reserved slot, as Conn.Do does. It fails only when
// the connection has closed or is going away since the slot was reserved.
func (r *Reservation) Do(req *Request, h Handler) (*Stream, error) {
	if r.used {
		return nil, fmt.Errorf("h2client: reservation used twice")
	}
	r.used = true
	c := r.c
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.mu.Lock()
	c.reserved--
	if err := c.refusalLocked(); err != nil {
		c.mu.Unlock()
		c.wake()
		return nil, err
	}
	// Stream IDs must reach the server in order: they are taken under wmu,
	// and the headers written before wmu is released.
	s := &stream{id: c.nextID, h: h, sendWindow: c.peerInitWindow, body: req.Body, recvWindow: streamWindow}
	c.nextID += 2
	c.streams[s.id] = s
	maxFrame := int(c.peerMaxFrame) // SETTINGS may change it under c.mu
	c.mu.Unlock()

	c.startWrite()
	c.writeHeadersLocked(s.id, req, maxFrame)
	if len(req.Body) > 0 {
		c.sendBodyLocked(s)
	}
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
	for len(s.body) > 0 && !s.done && !s.canceled {
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

// flushPendingLocked sends parked body bytes that now fit. Callers hold wmu.
func (c *Conn) flushPendingLocked() {
	waiting := c.pending
	c.pending = nil
	for _, s := range waiting {
		c.sendBodyLocked(s)
	}
}

// Cancel resets the stream. Its handler is then closed with ErrCanceled, on
// the reader goroutine, unless the stream ended first; no other handler
// call starts after Cancel returns, except one already under way. Cancel
// may be called from any goroutine, handlers included.
func (s *Stream) Cancel() {
	c := s.c
	c.mu.Lock()
	if s.s.done || s.s.canceled {
		c.mu.Unlock()
		return
	}
	s.s.canceled = true
	s.s.body = nil
	c.canceled = append(c.canceled, s.s)
	closed := c.closed
	c.mu.Unlock()
	if !closed {
		c.send(func(w *frameWriter) { w.rstStream(s.s.id, http2.ErrCodeCancel) })
	}
	c.wake()
}

// Close shuts the connection down; open streams get ErrClosed, on the
// reader goroutine.
func (c *Conn) Close() error {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if !closed {
		c.send(func(w *frameWriter) { w.goAway(0, http2.ErrCodeNo) })
	}
	c.fail(fmt.Errorf("closed by client"))
	return nil
}

// fail ends the connection with err. Closing the socket stops the reader,
// which then closes every open stream with err.
func (c *Conn) fail(err error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.err = err
	c.mu.Unlock()
	c.netConn.Close()
}
