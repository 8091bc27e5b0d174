package h2client

import (
	"bytes"
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

	"golang.org/x/net/http2/hpack"
)

// collector is a Handler that keeps the response.
type collector struct {
	status int
	body   bytes.Buffer
	done   chan error
}

func newCollector() *collector { return &collector{done: make(chan error, 1)} }

func (c *collector) Headers(status int, _ []hpack.HeaderField) { c.status = status }
func (c *collector) Data(p []byte)                             { c.body.Write(p) }
func (c *collector) Close(err error)                           { c.done <- err }

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

// server is Go's own HTTP/2 server: it echoes the size of what it got, or
// streams until the client goes away.
func server(t *testing.T) (*httptest.Server, *Conn) {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stream" {
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			<-r.Context().Done()
			return
		}
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "%s %d", r.Method, n)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	cfg := srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	c, err := Dial(context.Background(), srv.Listener.Addr().String(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return srv, c
}

func TestLargeBodiesWaitForFlowControlWithoutBlocking(t *testing.T) {
	_, c := server(t)
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
	_, c := server(t)
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
	srv, c := server(t)
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
	if c.Err() == nil || c.Available() != 0 {
		t.Errorf("connection still claims to be usable: err %v, available %d", c.Err(), c.Available())
	}
	if _, err := c.Do(&Request{Method: "GET", Path: "/x"}, newCollector()); !errors.Is(err, ErrClosed) {
		t.Errorf("Do on a closed connection: %v", err)
	}
}

func TestDialRefusesHTTP1Servers(t *testing.T) {
	srv := httptest.NewTLSServer(http.NotFoundHandler()) // HTTP/1.1 only
	defer srv.Close()
	cfg := srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	cfg.NextProtos = nil
	if _, err := Dial(context.Background(), srv.Listener.Addr().String(), cfg); err == nil {
		t.Fatal("dialed an HTTP/1.1 server")
	}
}
