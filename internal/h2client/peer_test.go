package h2client

import (
	"bytes"
	"io"
	"net"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// collector is a Handler that keeps the response and the goroutines its
// methods ran on. Its fields are unguarded on purpose: handler calls must
// come one at a time, and the race detector says when they do not.
type collector struct {
	status  int
	header  []hpack.HeaderField
	body    bytes.Buffer
	callers map[uint64]bool
	started chan struct{} // closed by Headers
	done    chan error
}

func newCollector() *collector {
	return &collector{done: make(chan error, 1), started: make(chan struct{}), callers: map[uint64]bool{}}
}

func (c *collector) Headers(status int, f []hpack.HeaderField) {
	c.callers[goid()] = true
	c.status, c.header = status, f
	close(c.started)
}

func (c *collector) Data(p []byte) {
	c.callers[goid()] = true
	c.body.Write(p)
}

func (c *collector) Close(err error) {
	c.callers[goid()] = true
	c.done <- err
}

func (c *collector) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-c.done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("stream never closed")
		return nil
	}
}

// goid is the calling goroutine's ID, from its stack header
// ("goroutine 12 [running]:").
func goid() uint64 {
	var b [64]byte
	n := runtime.Stack(b[:], false)
	id, _ := strconv.ParseUint(strings.Fields(string(b[:n]))[1], 10, 64)
	return id
}

// peer is a scripted HTTP/2 server over loopback TCP, for what Go's own
// server never does: it sends exactly the frames a test writes, and reads
// the client's frames through x/net's Framer, which checks them.
type peer struct {
	t    *testing.T
	conn net.Conn
	fr   *http2.Framer
	hbuf bytes.Buffer
	henc *hpack.Encoder
}

// newPeer connects a client to a peer that has completed the handshake
// with settings as its SETTINGS frame.
func newPeer(t *testing.T, opts Options, settings ...http2.Setting) (*peer, *Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		sc, err := ln.Accept()
		if err != nil {
			t.Error(err)
		}
		accepted <- sc
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewConn(nc, "peer.test", opts)
	if err != nil {
		t.Fatal(err)
	}
	sc := <-accepted
	if sc == nil {
		t.FailNow()
	}
	t.Cleanup(func() { c.Close(); sc.Close() })
	sc.SetDeadline(time.Now().Add(30 * time.Second))
	p := &peer{t: t, conn: sc, fr: http2.NewFramer(sc, sc)}
	p.fr.AllowIllegalWrites = true
	p.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	p.henc = hpack.NewEncoder(&p.hbuf)
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(sc, preface); err != nil || string(preface) != http2.ClientPreface {
		t.Fatalf("client preface: %q, %v", preface, err)
	}
	if err := p.fr.WriteSettings(settings...); err != nil {
		t.Fatal(err)
	}
	if f := p.next(http2.FrameSettings).(*http2.SettingsFrame); f.IsAck() {
		t.Fatal("client acknowledged SETTINGS before sending its own")
	}
	if err := p.fr.WriteSettingsAck(); err != nil {
		t.Fatal(err)
	}
	return p, c
}

// next returns the client's next frame of type ft, skipping the others
// (WINDOW_UPDATEs, SETTINGS ACKs, PINGs left unanswered).
func (p *peer) next(ft http2.FrameType) http2.Frame {
	p.t.Helper()
	for {
		f, err := p.fr.ReadFrame()
		if err != nil {
			p.t.Fatalf("waiting for the client's %s: %v", ft, err)
		}
		if f.Header().Type == ft {
			return f
		}
	}
}

// closed reads until the client shuts the connection.
func (p *peer) closed() {
	p.t.Helper()
	for {
		// EOF or a reset: either way the socket has ended. A deadline
		// ends the loop too, and the caller's check then fails.
		if _, err := p.fr.ReadFrame(); err != nil {
			return
		}
	}
}

// request waits for the client's next request and returns its headers.
func (p *peer) request() *http2.MetaHeadersFrame {
	p.t.Helper()
	return p.next(http2.FrameHeaders).(*http2.MetaHeadersFrame)
}

// respond sends response headers on stream id.
func (p *peer) respond(id uint32, status int, endStream bool) {
	p.t.Helper()
	p.hbuf.Reset()
	p.henc.WriteField(hpack.HeaderField{Name: ":status", Value: strconv.Itoa(status)})
	p.write(p.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: p.hbuf.Bytes(), EndHeaders: true, EndStream: endStream}))
}

func (p *peer) write(err error) {
	p.t.Helper()
	if err != nil {
		p.t.Fatalf("peer writing: %v", err)
	}
}

// answerPings answers the client's PINGs until the connection ends; the
// test must not read frames itself meanwhile. It returns how many it
// answered, once done.
func (p *peer) answerPings() <-chan int {
	answered := make(chan int, 1)
	go func() {
		n := 0
		defer func() { answered <- n }()
		for {
			f, err := p.fr.ReadFrame()
			if err != nil {
				return
			}
			if ping, ok := f.(*http2.PingFrame); ok && !ping.IsAck() {
				if p.fr.WritePing(true, ping.Data) != nil {
					return
				}
				n++
			}
		}
	}()
	return answered
}
