// Package kubeapi makes Kubernetes API calls and list-watches over
// h2client connections, asynchronously: results arrive in callbacks, so
// thousands of clients in one process need no goroutine each.
package kubeapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2/hpack"
	"golang.org/x/time/rate"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hollowmark/hollowmark/internal/h2client"
)

// ConnSource hands out stream slots on live connections, dialing when
// needed; *Pool is one.
type ConnSource interface {
	Reserve(ctx context.Context, fn func(*h2client.Reservation, error))
}

// Observer is told about every finished call, for client-side metrics.
type Observer func(verb, resource string, status int, took time.Duration)

// Client is one API identity: a connection source, an optional rate limit
// and a user agent.
type Client struct {
	Conns     ConnSource
	Codec     *Codec
	Limiter   *rate.Limiter // nil: not throttled
	UserAgent string
	// Authorization, if set, is sent with every request (a bearer token
	// from a kubeconfig without client certificates).
	Authorization string
	Observe       Observer
	// Ctx bounds retries and dials; canceling it stops the client.
	Ctx context.Context
	// PathPrefix is the path of the server's URL (as in
	// https://host/prefix), put before every call's path.
	PathPrefix string
}

// Call is one request.
type Call struct {
	// Verb is the API verb as the API server's metrics name it: GET, LIST,
	// WATCH, POST, PUT, PATCH, DELETE.
	Verb        string
	Path        string // e.g. /api/v1/namespaces/ns/pods/name/status
	Query       url.Values
	ContentType string
	Body        []byte
	// Unthrottled bypasses the limiter, as the kubelet's heartbeat client
	// does for leases and node status.
	Unthrottled bool
	// Resource labels metrics; it defaults to the path's resource.
	Resource string
	// Idempotent says the call may be sent again after a connection loss
	// left its outcome unknown (a create whose 409 the caller handles).
	// Reads always may; other calls are repeated only when the server
	// certainly did not process them, as client-go does.
	Idempotent bool
	// Timeout bounds each attempt, as a client-go client's Timeout bounds
	// each request: the kubelet's heartbeat client gives up on a lease or
	// node status call after its status update period. Zero means 60 s.
	Timeout time.Duration
}

// Response is the outcome of a call.
type Response struct {
	Status int
	Body   []byte
	Err    error // transport failure, or a non-2xx status as *StatusError
	// RetryAfter is the server's Retry-After; negative when it sent none.
	RetryAfter time.Duration
}

// StatusError is a response outside 2xx.
type StatusError struct {
	Code    int
	Message string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("HTTP %d: %s", e.Code, e.Message)
}

// ErrTimeout ends a call whose attempt took longer than its Timeout.
var ErrTimeout = errors.New("no answer within the call's timeout")

// IsStatus reports whether err is an API response with the given code.
func IsStatus(err error, code int) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Code == code
}

const (
	maxAttempts = 10
	callTimeout = 60 * time.Second
)

// Do starts call and hands the response to done. Do never calls done
// itself, so callers may hold locks that done takes; it may block briefly
// to write the request, but never to dial. Calls the server did not
// process (refused by GOAWAY or REFUSED_STREAM, never sent, dial
// failures), reads and Idempotent calls cut off by a connection loss, and
// 429s and 5xxs with a Retry-After are retried, as client-go retries them.
func (c *Client) Do(call Call, done func(Response)) {
	c.attempt(call, 1, time.Now(), done)
}

func (c *Client) attempt(call Call, n int, start time.Time, done func(Response)) {
	if err := c.Ctx.Err(); err != nil {
		go done(Response{Err: err})
		return
	}
	c.throttle(call.Unthrottled, func() {
		var stream atomic.Pointer[h2client.Stream]
		var timedOut atomic.Bool
		limit := call.Timeout
		if limit <= 0 {
			limit = callTimeout
		}
		timeout := time.AfterFunc(limit, func() {
			timedOut.Store(true)
			if s := stream.Load(); s != nil {
				s.Cancel()
			}
		})
		h := &bufferedResponse{codec: c.Codec}
		h.finish = func(resp Response) {
			timeout.Stop()
			if resp.Err != nil && timedOut.Load() {
				resp.Err = fmt.Errorf("%w (%s)", ErrTimeout, limit)
			}
			if delay, retry := c.retryable(call, resp, n); retry {
				time.AfterFunc(delay, func() { c.attempt(call, n+1, start, done) })
				return
			}
			c.observe(call, resp.Status, time.Since(start))
			done(resp)
		}
		c.start(call, h, func(s *h2client.Stream, err error) {
			if err != nil {
				// Not from this goroutine: it may be the caller's, holding locks.
				go h.finish(Response{Err: notSentError{err}})
				return
			}
			stream.Store(s)
			if timedOut.Load() { // the dial took the call's whole time
				s.Cancel()
			}
		})
	})
}

// retryable says whether and when to try again.
func (c *Client) retryable(call Call, resp Response, n int) (time.Duration, bool) {
	if n >= maxAttempts || c.Ctx.Err() != nil {
		return 0, false
	}
	switch {
	case resp.RetryAfter >= 0 && (resp.Status == http.StatusTooManyRequests || resp.Status >= 500):
		return resp.RetryAfter, true
	case isNotSent(resp.Err), h2client.Unprocessed(resp.Err):
		return backoff(n), true
	case errors.Is(resp.Err, h2client.ErrClosed) && (call.Idempotent || isRead(call.Verb)):
		return backoff(n), true
	}
	return 0, false
}

func isRead(verb string) bool {
	return verb == "GET" || verb == "LIST" || verb == "WATCH"
}

func backoff(n int) time.Duration {
	d := min(100*time.Millisecond<<n, 30*time.Second)
	return d/2 + rand.N(d/2)
}

// notSentError is a call that never reached the server: no connection,
// or none would take it.
type notSentError struct{ err error }

func (e notSentError) Error() string { return e.err.Error() }
func (e notSentError) Unwrap() error { return e.err }

func isNotSent(err error) bool {
	var d notSentError
	return errors.As(err, &d)
}

// throttle runs fn once the limiter allows, without blocking the caller.
func (c *Client) throttle(unthrottled bool, fn func()) {
	if unthrottled || c.Limiter == nil {
		fn()
		return
	}
	delay := c.Limiter.Reserve().Delay()
	if delay == 0 {
		fn()
		return
	}
	time.AfterFunc(delay, fn)
}

// start sends call on a connection with h as its handler, and tells
// started: at once when a connection has room, else after a dial.
func (c *Client) start(call Call, h h2client.Handler, started func(*h2client.Stream, error)) {
	req := c.request(call)
	c.Conns.Reserve(c.Ctx, func(r *h2client.Reservation, err error) {
		if err != nil {
			started(nil, err)
			return
		}
		started(r.Do(req, h))
	})
}

func (c *Client) request(call Call) *h2client.Request {
	path := c.PathPrefix + call.Path
	if len(call.Query) > 0 {
		path += "?" + call.Query.Encode()
	}
	header := []hpack.HeaderField{
		{Name: "accept", Value: acceptProtobuf},
		{Name: "user-agent", Value: c.UserAgent},
	}
	if c.Authorization != "" {
		header = append(header, hpack.HeaderField{Name: "authorization", Value: c.Authorization, Sensitive: true})
	}
	if call.ContentType != "" {
		header = append(header, hpack.HeaderField{Name: "content-type", Value: call.ContentType})
	}
	return &h2client.Request{Method: httpMethod(call.Verb), Path: path, Header: header, Body: call.Body}
}

// httpMethod maps an API verb to its HTTP method.
func httpMethod(verb string) string {
	switch verb {
	case "LIST", "WATCH":
		return http.MethodGet
	case "DELETECOLLECTION":
		return http.MethodDelete
	}
	return verb
}

func (c *Client) observe(call Call, status int, took time.Duration) {
	if c.Observe == nil {
		return
	}
	resource := call.Resource
	if resource == "" {
		resource = resourceOf(call.Path)
	}
	c.Observe(call.Verb, resource, status, took)
}

// resourceOf extracts the resource (and subresource) from an API path.
func resourceOf(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	// /api/v1/... or /apis/group/version/...
	if len(parts) > 0 && parts[0] == "apis" {
		parts = parts[1:]
	}
	if len(parts) < 2 {
		return path
	}
	parts = parts[2:]
	if len(parts) >= 2 && parts[0] == "namespaces" && len(parts) != 2 {
		parts = parts[2:]
	}
	switch len(parts) {
	case 0:
		return ""
	case 3:
		return parts[0] + "/" + parts[2]
	default:
		return parts[0]
	}
}

// bufferedResponse collects a unary response. Its methods run on the
// connection's reader goroutine, one at a time.
type bufferedResponse struct {
	codec      *Codec
	status     int
	retryAfter time.Duration
	body       bytes.Buffer
	finish     func(Response)
}

func (b *bufferedResponse) Headers(status int, fields []hpack.HeaderField) {
	b.status = status
	b.retryAfter = -1
	for _, f := range fields {
		if f.Name == "retry-after" {
			b.retryAfter = retryAfter(f.Value)
		}
	}
}

// retryAfter reads a Retry-After in seconds, as client-go does; -1 when
// it is not one (an HTTP date, say).
func retryAfter(v string) time.Duration {
	secs, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || secs < 0 {
		return -1
	}
	return time.Duration(secs) * time.Second
}

func (b *bufferedResponse) Data(p []byte) { b.body.Write(p) }

func (b *bufferedResponse) Close(err error) {
	resp := Response{Status: b.status, Body: b.body.Bytes(), Err: err, RetryAfter: -1}
	if err == nil {
		resp.RetryAfter = b.retryAfter
		if b.status < 200 || b.status > 299 {
			resp.Err = &StatusError{Code: b.status, Message: b.codec.statusMessage(b.body.Bytes())}
		}
	}
	b.finish(resp)
}

// statusMessage pulls the message out of a Status body, JSON or protobuf.
func (c *Codec) statusMessage(body []byte) string {
	if len(body) == 0 {
		return "(empty body)"
	}
	obj, err := c.Decode(body)
	if st, ok := obj.(*metav1.Status); err == nil && ok {
		return st.Message
	}
	if len(body) > 200 {
		body = body[:200]
	}
	return strconv.Quote(string(body))
}
