package kubeapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/hollowmark/hollowmark/internal/h2client"
)

// These tests are about the transport, not the Kubernetes API, so they use
// Go's own HTTP/2 server; kubeapi_test.go crosses the real API.

func TestRetryRules(t *testing.T) {
	lost := fmt.Errorf("%w: %w", h2client.ErrClosed, errors.New("server closed the connection"))
	for _, tc := range []struct {
		name  string
		call  Call
		resp  Response
		retry bool
		delay time.Duration // exact, when not a back-off
	}{
		{"429 with Retry-After", Call{Verb: "POST"}, Response{Status: 429, RetryAfter: 3 * time.Second}, true, 3 * time.Second},
		{"429 without Retry-After", Call{Verb: "GET"}, Response{Status: 429, RetryAfter: -1}, false, 0},
		{"503 with Retry-After", Call{Verb: "PATCH"}, Response{Status: 503, RetryAfter: time.Second}, true, time.Second},
		{"500 without Retry-After", Call{Verb: "GET"}, Response{Status: 500, RetryAfter: -1}, false, 0},
		{"409", Call{Verb: "PUT"}, Response{Status: 409, RetryAfter: -1}, false, 0},
		{"POST refused by GOAWAY", Call{Verb: "POST"}, Response{Err: h2client.GoAwayError{LastStreamID: 1}}, true, -1},
		{"POST refused by REFUSED_STREAM", Call{Verb: "POST"}, Response{Err: h2client.StreamError{Code: http2.ErrCodeRefusedStream}}, true, -1},
		{"POST reset with INTERNAL_ERROR", Call{Verb: "POST"}, Response{Err: h2client.StreamError{Code: http2.ErrCodeInternal}}, false, 0},
		{"POST never sent", Call{Verb: "POST"}, Response{Err: notSentError{errors.New("dial tcp: refused")}}, true, -1},
		{"POST after a connection loss", Call{Verb: "POST"}, Response{Err: lost}, false, 0},
		{"PATCH after a connection loss", Call{Verb: "PATCH"}, Response{Err: lost}, false, 0},
		{"idempotent POST after a connection loss", Call{Verb: "POST", Idempotent: true}, Response{Err: lost}, true, -1},
		{"GET after a connection loss", Call{Verb: "GET"}, Response{Err: lost}, true, -1},
		{"LIST after a connection loss", Call{Verb: "LIST"}, Response{Err: lost}, true, -1},
		{"canceled by the call timeout", Call{Verb: "GET"}, Response{Err: h2client.ErrCanceled}, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Client{Ctx: context.Background()}
			delay, retry := c.retryable(tc.call, tc.resp, 1)
			if retry != tc.retry || (retry && tc.delay >= 0 && delay != tc.delay) {
				t.Fatalf("retry %v after %v, want %v after %v", retry, delay, tc.retry, tc.delay)
			}
		})
	}
	c := &Client{Ctx: context.Background()}
	if _, retry := c.retryable(Call{Verb: "GET"}, Response{Err: lost}, maxAttempts); retry {
		t.Error("retried beyond maxAttempts")
	}
}

// echoServer is Go's HTTP/2 server running handle, with a client whose
// pool dials it.
func echoServer(t *testing.T, handle http.HandlerFunc) (*httptest.Server, *Client) {
	t.Helper()
	srv := httptest.NewUnstartedServer(handle)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	pool := &Pool{Addr: srv.Listener.Addr().String(), TLS: srv.Client().Transport.(*http.Transport).TLSClientConfig}
	t.Cleanup(func() { cancel(); pool.Close() })
	return srv, &Client{Conns: pool, Codec: NewCodec(), UserAgent: "test", Ctx: ctx}
}

func do(t *testing.T, c *Client, call Call) Response {
	t.Helper()
	done := make(chan Response, 1)
	c.Do(call, func(r Response) { done <- r })
	select {
	case r := <-done:
		return r
	case <-time.After(time.Minute):
		t.Fatalf("%s %s: no response", call.Verb, call.Path)
		return Response{}
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	var calls atomic.Int32
	_, c := echoServer(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusCreated)
	})
	begin := time.Now()
	resp := do(t, c, Call{Verb: "POST", Path: "/api/v1/namespaces", Body: []byte("x")})
	if resp.Err != nil || resp.Status != http.StatusCreated || calls.Load() != 2 {
		t.Fatalf("status %d, %v after %d calls; want 201 after 2", resp.Status, resp.Err, calls.Load())
	}
	if waited := time.Since(begin); waited < time.Second {
		t.Fatalf("retried after %v, before the server's Retry-After of 1s", waited)
	}
}

// A connection lost with the request in flight leaves its outcome unknown:
// reads are sent again, writes are not.
func TestConnectionLossRetriesOnlyReads(t *testing.T) {
	for _, tc := range []struct {
		verb  string
		calls int32
	}{{"GET", 2}, {"POST", 1}} {
		t.Run(tc.verb, func(t *testing.T) {
			var calls atomic.Int32
			var srv *httptest.Server
			srv, c := echoServer(t, func(w http.ResponseWriter, r *http.Request) {
				if calls.Add(1) == 1 {
					go srv.CloseClientConnections() // with this request unanswered
					<-r.Context().Done()
					return
				}
				w.WriteHeader(http.StatusOK)
			})
			resp := do(t, c, Call{Verb: tc.verb, Path: "/api/v1/pods"})
			if calls.Load() != tc.calls {
				t.Fatalf("server saw %d calls, want %d (response %d, %v)", calls.Load(), tc.calls, resp.Status, resp.Err)
			}
			if lost := errors.Is(resp.Err, h2client.ErrClosed); lost != (tc.calls == 1) {
				t.Fatalf("response %d, %v", resp.Status, resp.Err)
			}
		})
	}
}

func TestPathPrefix(t *testing.T) {
	paths := make(chan string, 1)
	_, c := echoServer(t, func(w http.ResponseWriter, r *http.Request) { paths <- r.URL.RequestURI() })
	c.PathPrefix = "/k8s/clusters/c-1"
	if resp := do(t, c, Call{Verb: "LIST", Path: "/api/v1/pods", Query: map[string][]string{"limit": {"5"}}}); resp.Err != nil {
		t.Fatal(resp.Err)
	}
	if got, want := <-paths, "/k8s/clusters/c-1/api/v1/pods?limit=5"; got != want {
		t.Fatalf("server saw %s, want %s", got, want)
	}
}

// A server that accepts TCP but never finishes the TLS handshake: callers
// are not held while the pool dials, they share one dial, and its failure
// reaches each of them.
func TestPoolDialsWithoutBlockingCallers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	srv := httptest.NewTLSServer(http.NotFoundHandler()) // for a TLS config only
	srv.Close()
	pool := &Pool{Addr: ln.Addr().String(), TLS: srv.Client().Transport.(*http.Transport).TLSClientConfig}
	defer pool.Close()
	const callers = 5
	errs := make(chan error, callers)
	returned := make(chan struct{})
	go func() {
		for range callers {
			pool.Reserve(context.Background(), func(r *h2client.Reservation, err error) { errs <- err })
		}
		close(returned)
	}()
	conn := <-accepted
	defer conn.Close()
	select {
	case <-returned:
	case <-time.After(10 * time.Second):
		t.Fatal("Reserve waited for the dial")
	}
	select {
	case c := <-accepted:
		t.Fatalf("a second dial (from %v) while the first was under way", c.RemoteAddr())
	case <-time.After(200 * time.Millisecond):
	}
	conn.Close() // the handshake fails
	for range callers {
		select {
		case err := <-errs:
			if err == nil {
				t.Fatal("got a connection from a failed dial")
			}
		case <-time.After(30 * time.Second):
			t.Fatal("a caller was never told the dial failed")
		}
	}
}

// A call with a Timeout gives up when its attempt is not answered in time,
// as a client-go client with a Timeout does (the kubelet's heartbeat
// client), and is not retried: the caller decides.
func TestCallTimeout(t *testing.T) {
	var calls atomic.Int32
	_, c := echoServer(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		<-r.Context().Done() // never answers
	})
	resp := do(t, c, Call{Verb: "PUT", Path: "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n", Body: []byte("x"),
		Timeout: 200 * time.Millisecond})
	if !errors.Is(resp.Err, ErrTimeout) || calls.Load() != 1 {
		t.Fatalf("response %d, %v after %d calls; want ErrTimeout after 1", resp.Status, resp.Err, calls.Load())
	}
}
