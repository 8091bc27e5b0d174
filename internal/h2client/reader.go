package h2client

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// The reader goroutine is the only one that reads the socket, calls
// handlers or forgets streams. Other goroutines hand it work (a canceled
// stream, a connection going idle after GOAWAY) by queueing it under
// Conn.mu and setting the socket's read deadline to now: the blocked Read
// returns a timeout, the reader does the work and reads on. A read
// deadline also times liveness PINGs, so a connection needs no timer or
// second goroutine. A timeout leaves crypto/tls able to read on: it keeps
// a partial record and does not treat deadline errors as fatal.
type reader struct {
	c         *Conn
	lastRead  time.Time
	pingSent  time.Time // zero when no PING is outstanding
	pingData  [8]byte
	pingCount uint64
	// woken is set by wake, cleared when the reader looks at its queue.
	woken atomic.Bool
	// interrupts counts the read deadlines that passed.
	interrupts atomic.Int64

	hdec            *hpack.Decoder
	headerBlock     []byte
	headerStreamID  uint32
	headerEndStream bool
	recvWindow      int32 // what the server may still send on the connection
	connUnacked     uint32
}

func (r *reader) init(c *Conn) {
	r.c = c
	r.lastRead = time.Now()
	r.recvWindow = connWindow
	r.hdec = hpack.NewDecoder(4096, nil)
	r.hdec.SetMaxStringLength(maxHeaderBlock)
}

// Read serves frame decoding: it returns the socket's bytes, and does the
// queued work and liveness checks whenever the read deadline interrupts it.
// Each read moves the deadline on, so that it passes only on a connection
// silent for PingAfter (or to wake the reader): a deadline left where it
// was would wake every connection every PingAfter to find it had been
// read meanwhile, a third of an idle pool's wake-ups. A wake-up is not
// lost to the move: it is flagged before its deadline is set, and the flag
// read after the move.
func (r *reader) Read(p []byte) (int, error) {
	for {
		n, err := r.c.netConn.Read(p)
		if n > 0 {
			r.lastRead = time.Now()
			r.pingSent = time.Time{} // any frame shows the server is alive
			if r.c.opts.PingAfter > 0 {
				r.c.netConn.SetReadDeadline(r.deadline())
				if r.woken.Load() {
					r.c.netConn.SetReadDeadline(time.Now())
				}
			}
			return n, nil
		}
		if err == nil || !errors.Is(err, os.ErrDeadlineExceeded) {
			return n, err
		}
		if err := r.interrupted(); err != nil {
			return 0, err
		}
	}
}

// interrupted runs when a read deadline passed: a wake-up, or time to
// check liveness. The next deadline is set before the queue is drained, so
// a wake-up queued meanwhile sets it to now again after us and is not
// lost.
func (r *reader) interrupted() error {
	r.interrupts.Add(1)
	now := time.Now()
	opts := r.c.opts
	if opts.PingAfter > 0 {
		switch {
		case !r.pingSent.IsZero() && now.Sub(r.pingSent) >= opts.PingTimeout:
			return ErrPingTimeout
		case r.pingSent.IsZero() && now.Sub(r.lastRead) >= opts.PingAfter:
			r.ping(now)
		}
	}
	r.woken.Store(false)
	r.c.netConn.SetReadDeadline(r.deadline())
	r.runQueue()
	return nil
}

func (r *reader) deadline() time.Time {
	switch {
	case r.c.opts.PingAfter < 0:
		return time.Time{}
	case r.pingSent.IsZero():
		return r.lastRead.Add(r.c.opts.PingAfter)
	default:
		return r.pingSent.Add(r.c.opts.PingTimeout)
	}
}

func (r *reader) ping(now time.Time) {
	r.pingSent = now
	r.pingCount++
	for i := range r.pingData {
		r.pingData[i] = byte(r.pingCount >> (8 * i))
	}
	r.c.send(func(w *frameWriter) { w.ping(false, r.pingData[:]) })
}

// wake makes the reader look at its queue soon.
func (c *Conn) wake() {
	c.r.woken.Store(true)
	c.netConn.SetReadDeadline(time.Now())
}

// runQueue closes canceled streams, and the connection once the server
// has said GOAWAY and nothing is left on it. The reader runs it after
// every frame too.
func (r *reader) runQueue() {
	c := r.c
	c.mu.Lock()
	canceled := c.canceled
	c.canceled = nil
	idle := c.goAway != nil && !c.closed && len(c.streams) == 0 && c.reserved == 0
	c.mu.Unlock()
	for _, s := range canceled {
		r.closeStream(s, ErrCanceled)
	}
	if idle {
		c.Close()
	}
}

// closeStream forgets s and tells its handler, once: ErrCanceled if it
// was canceled, whatever else ended it since.
func (r *reader) closeStream(s *stream, err error) {
	c := r.c
	c.mu.Lock()
	if s.done {
		c.mu.Unlock()
		return
	}
	if s.canceled {
		err = ErrCanceled
	}
	s.done = true
	s.body = nil
	delete(c.streams, s.id)
	c.mu.Unlock()
	s.h.Close(err)
}

// framePool holds payload buffers while a frame is being handled, so that an
// idle connection keeps none.
var framePool = sync.Pool{New: func() any { b := make([]byte, maxFrameSize); return &b }}

func (c *Conn) readLoop() {
	r := &c.r
	c.netConn.SetReadDeadline(r.deadline())
	var err error
	for err == nil {
		err = r.readFrame()
		if err == nil {
			r.runQueue()
		}
	}
	var ce ConnError
	if errors.As(err, &ce) {
		c.send(func(w *frameWriter) { w.goAway(0, ce.Code) })
	}
	if errors.Is(err, io.EOF) {
		err = fmt.Errorf("%s closed the connection", c.authority)
	}
	c.fail(err)
	r.closeAll()
}

// closeAll closes every stream left once the connection has ended.
func (r *reader) closeAll() {
	c := r.c
	c.mu.Lock()
	err := fmt.Errorf("%w: %w", ErrClosed, c.err)
	streams := make([]*stream, 0, len(c.streams))
	for _, s := range c.streams {
		streams = append(streams, s)
	}
	c.canceled = nil
	c.mu.Unlock()
	for _, s := range streams {
		r.closeStream(s, err)
	}
}

func (r *reader) readFrame() error {
	fh, err := http2.ReadFrameHeader(r)
	if err != nil {
		return err
	}
	if fh.Length > maxFrameSize {
		return connError(http2.ErrCodeFrameSize, "frame of %d bytes exceeds the %d we allow", fh.Length, maxFrameSize)
	}
	bufp := framePool.Get().(*[]byte)
	defer framePool.Put(bufp)
	payload := (*bufp)[:fh.Length]
	if _, err := io.ReadFull(r, payload); err != nil {
		return err
	}
	if r.headerStreamID != 0 && fh.Type != http2.FrameContinuation {
		return connError(http2.ErrCodeProtocol, "%s frame inside a header block", fh.Type)
	}
	return r.handleFrame(fh, payload)
}

func (r *reader) handleFrame(fh http2.FrameHeader, p []byte) error {
	switch fh.Type {
	case http2.FrameData:
		return r.onData(fh, p)
	case http2.FrameHeaders:
		return r.onHeaders(fh, p)
	case http2.FrameContinuation:
		return r.onContinuation(fh, p)
	case http2.FrameRSTStream:
		return r.onRSTStream(fh, p)
	case http2.FrameSettings:
		return r.onSettings(fh, p)
	case http2.FramePing:
		return r.onPing(fh, p)
	case http2.FrameGoAway:
		return r.onGoAway(fh, p)
	case http2.FrameWindowUpdate:
		return r.onWindowUpdate(fh, p)
	case http2.FramePushPromise:
		return connError(http2.ErrCodeProtocol, "server pushed although push is disabled")
	}
	return nil // PRIORITY, and unknown types, which must be ignored
}
