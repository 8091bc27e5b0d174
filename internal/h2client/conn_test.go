package h2client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// The conformance cases against Go's own HTTP/2 server (net/http's).

// goServer echoes the method and size of what it got; /stream sends a
// chunk every millisecond until the client goes away. cfg tunes its
// HTTP/2 settings.
func goServer(t *testing.T, cfg *http.HTTP2Config) (*httptest.Server, *Conn) {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stream" {
			w.WriteHeader(http.StatusOK)
			for {
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
					return
				case <-time.After(time.Millisecond):
				}
				fmt.Fprint(w, "chunk;")
			}
		}
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "%s %d", r.Method, n)
	}))
	srv.EnableHTTP2 = true
	srv.Config.HTTP2 = cfg
	srv.StartTLS()
	t.Cleanup(srv.Close)
	tlsCfg := srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	c, err := Dial(context.Background(), srv.Listener.Addr().String(), tlsCfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return srv, c
}

func TestLargeBodiesWaitForFlowControlWithoutBlocking(t *testing.T) {
	_, c := goServer(t, nil)
	// Beyond the server's 1 MB stream and connection windows: the rest of
	// the body must be parked and sent as WINDOW_UPDATEs arrive.
	const size = 3 << 20
	h := newCollector()
	if _, err := c.Do(&Request{Method: "PUT", Path: "/upload", Body: make([]byte, size)}, h); err != nil {
		t.Fatal(err)
	}
	if err := h.wait(t); err != nil {
		t.Fatal(err)
	}
	if h.status != 200 || h.body.String() != "PUT "+strconv.Itoa(size) {
		t.Fatalf("got %d %q", h.status, h.body.String())
	}
}

func TestConcurrentStreams(t *testing.T) {
	_, c := goServer(t, nil)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			h := newCollector()
			if _, err := c.Do(&Request{Method: "POST", Path: "/x", Body: make([]byte, i*1000)}, h); err != nil {
				t.Error(err)
				return
			}
			if err := h.wait(t); err != nil || h.body.String() != "POST "+strconv.Itoa(i*1000) {
				t.Errorf("stream %d: %q, %v", i, h.body.String(), err)
			}
		})
	}
	wg.Wait()
}

func TestCancelAndConnectionLoss(t *testing.T) {
	srv, c := goServer(t, nil)
	canceled := newCollector()
	s, err := c.Do(&Request{Method: "GET", Path: "/stream"}, canceled)
	if err != nil {
		t.Fatal(err)
	}
	s.Cancel()
	if err := canceled.wait(t); !errors.Is(err, ErrCanceled) {
		t.Fatalf("canceled stream closed with %v", err)
	}
	open := newCollector()
	if _, err := c.Do(&Request{Method: "GET", Path: "/stream"}, open); err != nil {
		t.Fatal(err)
	}
	srv.CloseClientConnections()
	if err := open.wait(t); !errors.Is(err, ErrClosed) {
		t.Fatalf("stream on a lost connection closed with %v", err)
	}
	if c.Err() == nil {
		t.Error("connection still claims to be open")
	}
	if _, err := c.Reserve(); !errors.Is(err, ErrClosed) {
		t.Errorf("Reserve on a closed connection: %v", err)
	}
	if _, err := c.Do(&Request{Method: "GET", Path: "/x"}, newCollector()); !errors.Is(err, ErrClosed) {
		t.Errorf("Do on a closed connection: %v", err)
	}
}

// Every handler call, whatever ends the stream (the server, a Cancel from
// another goroutine, Close, the connection's loss), runs on the reader
// goroutine: the same one for every stream of the connection, never the
// caller's. The collector's unguarded fields make the race detector the
// second witness.
func TestHandlerCallsComeFromTheReaderGoroutine(t *testing.T) {
	for _, end := range []string{"cancel", "close", "connection loss"} {
		t.Run(end, func(t *testing.T) {
			srv, c := goServer(t, nil)
			const n = 20
			hs := make([]*collector, n)
			streams := make([]*Stream, n)
			for i := range hs {
				hs[i] = newCollector()
				s, err := c.Do(&Request{Method: "GET", Path: "/stream"}, hs[i])
				if err != nil {
					t.Fatal(err)
				}
				streams[i] = s
			}
			time.Sleep(20 * time.Millisecond) // let data flow while we end them
			var wg sync.WaitGroup
			switch end {
			case "cancel":
				for _, s := range streams {
					wg.Go(s.Cancel)
				}
			case "close":
				wg.Go(func() { c.Close() })
			case "connection loss":
				wg.Go(srv.CloseClientConnections)
			}
			wg.Wait()
			callers := map[uint64]bool{}
			for _, h := range hs {
				err := h.wait(t)
				if err == nil {
					t.Errorf("a stream ended cleanly on %s", end)
				}
				for id := range h.callers {
					callers[id] = true
				}
			}
			if len(callers) != 1 || callers[goid()] {
				t.Fatalf("handlers ran on goroutines %v (the test's is %d), want the reader's alone", callers, goid())
			}
		})
	}
}

func TestGoServerStreamLimitOfOne(t *testing.T) {
	_, c := goServer(t, &http.HTTP2Config{MaxConcurrentStreams: 1})
	first := newCollector()
	// The first exchange makes sure the server's SETTINGS have arrived.
	if _, err := c.Do(&Request{Method: "GET", Path: "/x"}, first); err != nil {
		t.Fatal(err)
	}
	if err := first.wait(t); err != nil {
		t.Fatal(err)
	}
	watch := newCollector()
	s, err := c.Do(&Request{Method: "GET", Path: "/stream"}, watch)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Reserve(); !errors.Is(err, ErrStreamLimit) || !Unprocessed(err) {
		t.Fatalf("second stream: %v, want ErrStreamLimit", err)
	}
	s.Cancel()
	if err := watch.wait(t); !errors.Is(err, ErrCanceled) {
		t.Fatal(err)
	}
	r, err := c.Reserve()
	if err != nil {
		t.Fatalf("after the first stream ended: %v", err)
	}
	r.Release()
}

// Go's server answers Shutdown with GOAWAY: new requests are refused with a
// GoAwayError (safe to retry elsewhere), the open stream runs to its end,
// and then the connection closes.
func TestGoServerShutdownSendsGoAway(t *testing.T) {
	srv, c := goServer(t, nil)
	watch := newCollector()
	s, err := c.Do(&Request{Method: "GET", Path: "/stream"}, watch)
	if err != nil {
		t.Fatal(err)
	}
	<-watch.started // the server is processing it
	shutdown := make(chan error, 1)
	go func() { shutdown <- srv.Config.Shutdown(context.Background()) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := c.Reserve()
		var ga GoAwayError
		if errors.As(err, &ga) {
			if !Unprocessed(err) || ga.Code != http2.ErrCodeNo {
				t.Fatalf("refusal after GOAWAY: %v", err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no GOAWAY seen; Reserve: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if c.Err() != nil {
		t.Fatalf("connection closed while a stream was open: %v", c.Err())
	}
	s.Cancel()
	if err := watch.wait(t); !errors.Is(err, ErrCanceled) {
		t.Fatal(err)
	}
	if err := <-shutdown; err != nil {
		t.Fatal(err)
	}
	for c.Err() == nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if c.Err() == nil {
		t.Fatal("connection open after its last stream ended on a server going away")
	}
}

func TestDialRefusesHTTP1Servers(t *testing.T) {
	srv := httptest.NewTLSServer(http.NotFoundHandler()) // HTTP/1.1 only
	defer srv.Close()
	cfg := srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	cfg.NextProtos = nil
	if _, err := Dial(context.Background(), srv.Listener.Addr().String(), cfg, Options{}); err == nil {
		t.Fatal("dialed an HTTP/1.1 server")
	}
}
