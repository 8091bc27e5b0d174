package h2client

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// The conformance cases against a scripted server (peer_test.go) that
// does what Go's server never does.

func get(t *testing.T, c *Conn) (*collector, *Stream) {
	t.Helper()
	h := newCollector()
	s, err := c.Do(&Request{Method: "GET", Path: "/watch"}, h)
	if err != nil {
		t.Fatal(err)
	}
	return h, s
}

// A GOAWAY naming stream 1 as the last processed, with 1 and 3 open:
// stream 3 is refused with a GoAwayError (safe to retry), stream 1 goes
// on to its end, new requests are refused, and the client closes the
// connection, saying GOAWAY itself, once stream 1 is done.
func TestGoAwayMidStream(t *testing.T) {
	p, c := newPeer(t, Options{})
	watch, _ := get(t, c)
	late, _ := get(t, c)
	p.request()
	p.request()
	p.respond(1, 200, false)
	p.write(p.fr.WriteData(1, false, []byte("before;")))
	p.write(p.fr.WriteGoAway(1, http2.ErrCodeNo, []byte("restarting")))
	err := late.wait(t)
	var ga GoAwayError
	if !errors.As(err, &ga) || ga.LastStreamID != 1 || ga.Debug != "restarting" || !Unprocessed(err) {
		t.Fatalf("stream 3 after GOAWAY(last=1): %v", err)
	}
	if _, err := c.Reserve(); !errors.As(err, &ga) {
		t.Fatalf("Reserve after GOAWAY: %v", err)
	}
	p.write(p.fr.WriteData(1, true, []byte("after")))
	if err := watch.wait(t); err != nil || watch.body.String() != "before;after" {
		t.Fatalf("stream 1 after GOAWAY(last=1): %q, %v", watch.body.String(), err)
	}
	if f := p.next(http2.FrameGoAway).(*http2.GoAwayFrame); f.ErrCode != http2.ErrCodeNo {
		t.Fatalf("client's GOAWAY: %v", f.ErrCode)
	}
	// The client says GOAWAY before it records the close and shuts the
	// socket, so the socket's end, not the GOAWAY, is when Err must be set.
	p.closed()
	if c.Err() == nil {
		t.Fatal("connection still open after its last stream ended")
	}
}

// A request body larger than the window waits, without blocking anyone,
// for the SETTINGS and WINDOW_UPDATEs that open it; a zero initial window
// lets only the headers through.
func TestZeroWindowAndSettingsChange(t *testing.T) {
	p, c := newPeer(t, Options{}, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
	p.next(http2.FrameSettings) // the client's ACK: the zero window is in force
	body := make([]byte, 1000)
	for i := range body {
		body[i] = byte(i)
	}
	h := newCollector()
	if _, err := c.Do(&Request{Method: "POST", Path: "/upload", Body: body}, h); err != nil {
		t.Fatal(err)
	}
	if req := p.request(); req.StreamEnded() {
		t.Fatal("headers ended the stream of a request with a body")
	}
	var got []byte
	expect := func(n int, end bool) {
		t.Helper()
		f := p.next(http2.FrameData).(*http2.DataFrame)
		if len(f.Data()) != n || f.StreamEnded() != end {
			t.Fatalf("DATA of %d bytes (end %v), want %d (end %v)", len(f.Data()), f.StreamEnded(), n, end)
		}
		got = append(got, f.Data()...)
	}
	// Connection window alone does not release a stream at zero.
	p.write(p.fr.WriteWindowUpdate(0, 1<<20))
	p.write(p.fr.WriteWindowUpdate(1, 10))
	expect(10, false)
	// Raising the initial window applies to the open stream.
	p.write(p.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 300}))
	expect(300, false)
	p.write(p.fr.WriteWindowUpdate(1, 1000))
	expect(690, true)
	if string(got) != string(body) {
		t.Fatal("body arrived altered")
	}
	// Lowering the stream limit below what is open refuses new streams.
	p.write(p.fr.WriteSettings(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 1}))
	if f := p.next(http2.FrameSettings).(*http2.SettingsFrame); !f.IsAck() {
		t.Fatal("expected the client's SETTINGS ACK")
	}
	if _, err := c.Reserve(); !errors.Is(err, ErrStreamLimit) {
		t.Fatalf("Reserve at the lowered limit: %v", err)
	}
	p.respond(1, 200, true)
	if err := h.wait(t); err != nil || h.status != 200 {
		t.Fatalf("response: %d, %v", h.status, err)
	}
}

func TestStreamLimitOne(t *testing.T) {
	p, c := newPeer(t, Options{}, http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 1})
	p.next(http2.FrameSettings)
	first, _ := get(t, c)
	if _, err := c.Do(&Request{Method: "POST", Path: "/x", Body: []byte("x")}, newCollector()); !errors.Is(err, ErrStreamLimit) || !Unprocessed(err) {
		t.Fatalf("second stream: %v, want ErrStreamLimit", err)
	}
	p.request()
	p.respond(1, 200, true)
	if err := first.wait(t); err != nil {
		t.Fatal(err)
	}
	second, _ := get(t, c)
	if req := p.request(); req.StreamID != 3 {
		t.Fatalf("second request on stream %d", req.StreamID)
	}
	p.respond(3, 204, true)
	if err := second.wait(t); err != nil || second.status != 204 {
		t.Fatalf("second request: %d, %v", second.status, err)
	}
}

// RST_STREAM ends one stream; only REFUSED_STREAM promises it was not
// processed. The connection carries on.
func TestRSTStream(t *testing.T) {
	for _, tc := range []struct {
		code        http2.ErrCode
		unprocessed bool
	}{{http2.ErrCodeRefusedStream, true}, {http2.ErrCodeInternal, false}, {http2.ErrCodeCancel, false}} {
		t.Run(tc.code.String(), func(t *testing.T) {
			p, c := newPeer(t, Options{})
			h, _ := get(t, c)
			p.request()
			p.write(p.fr.WriteRSTStream(1, tc.code))
			err := h.wait(t)
			var se StreamError
			if !errors.As(err, &se) || se.Code != tc.code || se.Local || Unprocessed(err) != tc.unprocessed {
				t.Fatalf("got %v (unprocessed %v), want a reset by peer with %v (unprocessed %v)", err, Unprocessed(err), tc.code, tc.unprocessed)
			}
			next, _ := get(t, c)
			p.request()
			p.respond(3, 200, true)
			if err := next.wait(t); err != nil {
				t.Fatalf("connection unusable after RST_STREAM: %v", err)
			}
		})
	}
}

// A server that stops answering is noticed by PING, not by TCP minutes
// later; one that answers keeps the connection.
func TestSilentPeer(t *testing.T) {
	opts := Options{PingAfter: 100 * time.Millisecond, PingTimeout: 200 * time.Millisecond}
	t.Run("silent", func(t *testing.T) {
		p, c := newPeer(t, opts)
		watch, _ := get(t, c)
		p.request()
		p.respond(1, 200, false)
		if ping := p.next(http2.FramePing).(*http2.PingFrame); ping.IsAck() {
			t.Fatal("client sent a PING ACK unasked")
		}
		err := watch.wait(t)
		if !errors.Is(err, ErrClosed) || !errors.Is(err, ErrPingTimeout) {
			t.Fatalf("watch on a silent connection ended with %v", err)
		}
	})
	t.Run("answering", func(t *testing.T) {
		p, c := newPeer(t, opts)
		watch, _ := get(t, c)
		answered := p.answerPings()
		time.Sleep(10 * opts.PingAfter)
		if err := c.Err(); err != nil {
			t.Fatalf("connection to an answering peer closed: %v", err)
		}
		c.Close()
		if n := <-answered; n < 2 {
			t.Fatalf("%d PINGs in %v of silence, want several", n, 10*opts.PingAfter)
		}
		if err := watch.wait(t); !errors.Is(err, ErrClosed) {
			t.Fatal(err)
		}
	})
}

// A Cancel from another goroutine reaches the handler, on the reader
// goroutine, even when the server never sends another byte.
func TestCancelOnASilentConnection(t *testing.T) {
	p, c := newPeer(t, Options{PingAfter: -1})
	h, s := get(t, c)
	p.request()
	p.respond(1, 200, false)
	s.Cancel()
	if f := p.next(http2.FrameRSTStream).(*http2.RSTStreamFrame); f.StreamID != 1 || f.ErrCode != http2.ErrCodeCancel {
		t.Fatalf("client's RST_STREAM: stream %d, %v", f.StreamID, f.ErrCode)
	}
	if err := h.wait(t); !errors.Is(err, ErrCanceled) {
		t.Fatal(err)
	}
	if h.callers[goid()] {
		t.Fatal("Close ran on the canceling goroutine")
	}
}

// Frames that break the protocol end the connection with GOAWAY and the
// right code; the open stream learns it as ErrClosed with the ConnError.
func TestFrameValidation(t *testing.T) {
	for _, tc := range []struct {
		name  string
		send  func(p *peer) error
		code  http2.ErrCode
		noAck bool // the client may not have read the whole frame
	}{
		{"connection WINDOW_UPDATE of 0", func(p *peer) error { return p.fr.WriteWindowUpdate(0, 0) }, http2.ErrCodeProtocol, false},
		{"connection window beyond 2^31-1", func(p *peer) error { return p.fr.WriteWindowUpdate(0, 1<<31-1) }, http2.ErrCodeFlowControl, false},
		{"MAX_FRAME_SIZE below 2^14", func(p *peer) error {
			return p.fr.WriteSettings(http2.Setting{ID: http2.SettingMaxFrameSize, Val: 100})
		}, http2.ErrCodeProtocol, false},
		{"INITIAL_WINDOW_SIZE of 2^31", func(p *peer) error {
			return p.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 31})
		}, http2.ErrCodeFlowControl, false},
		{"ENABLE_PUSH from a server", func(p *peer) error {
			return p.fr.WriteSettings(http2.Setting{ID: http2.SettingEnablePush, Val: 1})
		}, http2.ErrCodeProtocol, false},
		{"SETTINGS ACK with a payload", func(p *peer) error {
			return p.fr.WriteRawFrame(http2.FrameSettings, http2.FlagSettingsAck, 0, make([]byte, 6))
		}, http2.ErrCodeFrameSize, false},
		{"PING of 7 bytes", func(p *peer) error { return p.fr.WriteRawFrame(http2.FramePing, 0, 0, make([]byte, 7)) }, http2.ErrCodeFrameSize, false},
		{"DATA on stream 0", func(p *peer) error { return p.fr.WriteData(0, false, []byte("x")) }, http2.ErrCodeProtocol, false},
		{"DATA on a stream never opened", func(p *peer) error { return p.fr.WriteData(5, false, []byte("x")) }, http2.ErrCodeProtocol, false},
		{"HEADERS on a server-initiated stream", func(p *peer) error {
			return p.fr.WriteRawFrame(http2.FrameHeaders, http2.FlagHeadersEndHeaders, 2, nil)
		}, http2.ErrCodeProtocol, false},
		{"PUSH_PROMISE", func(p *peer) error {
			return p.fr.WritePushPromise(http2.PushPromiseParam{StreamID: 1, PromiseID: 2, EndHeaders: true})
		}, http2.ErrCodeProtocol, false},
		{"a frame inside a header block", func(p *peer) error {
			if err := p.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: []byte{0x88}}); err != nil {
				return err
			}
			return p.fr.WriteData(1, false, []byte("x"))
		}, http2.ErrCodeProtocol, false},
		{"garbage header block", func(p *peer) error {
			return p.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: []byte{0xff, 0xff, 0xff}, EndHeaders: true})
		}, http2.ErrCodeCompression, false},
		{"frame beyond our MAX_FRAME_SIZE", func(p *peer) error { return p.fr.WriteRawFrame(http2.FrameData, 0, 1, make([]byte, 20000)) }, http2.ErrCodeFrameSize, true},
		{"GOAWAY on a stream", func(p *peer) error { return p.fr.WriteRawFrame(http2.FrameGoAway, 0, 1, make([]byte, 8)) }, http2.ErrCodeProtocol, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, c := newPeer(t, Options{})
			h, _ := get(t, c)
			p.request()
			p.write(tc.send(p))
			err := h.wait(t)
			var ce ConnError
			if !errors.Is(err, ErrClosed) || !errors.As(err, &ce) || ce.Code != tc.code {
				t.Fatalf("stream closed with %v, want ErrClosed with a %v ConnError", err, tc.code)
			}
			if tc.noAck {
				return
			}
			if f := p.next(http2.FrameGoAway).(*http2.GoAwayFrame); f.ErrCode != tc.code {
				t.Fatalf("client's GOAWAY says %v, want %v", f.ErrCode, tc.code)
			}
		})
	}
}

// Violations confined to one stream reset that stream only.
func TestStreamValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		send func(p *peer) error
		code http2.ErrCode
	}{
		{"stream WINDOW_UPDATE of 0", func(p *peer) error { return p.fr.WriteWindowUpdate(1, 0) }, http2.ErrCodeProtocol},
		{"stream window beyond 2^31-1", func(p *peer) error { return p.fr.WriteWindowUpdate(1, 1<<31-1) }, http2.ErrCodeFlowControl},
		{"DATA before HEADERS", func(p *peer) error { return p.fr.WriteData(1, false, []byte("x")) }, http2.ErrCodeProtocol},
		{"no :status", func(p *peer) error {
			return p.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: []byte{0x82}, EndHeaders: true}) // :method GET
		}, http2.ErrCodeProtocol},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, c := newPeer(t, Options{})
			h, _ := get(t, c)
			p.request()
			p.write(tc.send(p))
			err := h.wait(t)
			var se StreamError
			if !errors.As(err, &se) || !se.Local || se.Code != tc.code {
				t.Fatalf("stream closed with %v, want our reset with %v", err, tc.code)
			}
			if f := p.next(http2.FrameRSTStream).(*http2.RSTStreamFrame); f.ErrCode != tc.code || f.StreamID != 1 {
				t.Fatalf("client's RST_STREAM: stream %d, %v", f.StreamID, f.ErrCode)
			}
			if c.Err() != nil {
				t.Fatalf("connection closed for a stream's fault: %v", c.Err())
			}
		})
	}
}

// A connection that hears from the server more often than PingAfter is
// neither pinged nor woken by its read deadline; a Cancel still wakes it.
func TestBusyConnectionIsNotWokenByItsDeadline(t *testing.T) {
	opts := Options{PingAfter: 200 * time.Millisecond}
	p, c := newPeer(t, opts)
	watch, s := get(t, c)
	p.request()
	p.respond(1, 200, false)
	for range 20 {
		p.write(p.fr.WriteData(1, false, []byte("event")))
		time.Sleep(opts.PingAfter / 4)
	}
	if n := c.r.interrupts.Load(); n > 0 {
		t.Errorf("read deadline passed %d times on a connection read every %v", n, opts.PingAfter/4)
	}
	s.Cancel()
	if err := watch.wait(t); !errors.Is(err, ErrCanceled) {
		t.Fatalf("canceled stream ended with %v", err)
	}
}
