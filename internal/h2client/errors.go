package h2client

import (
	"errors"
	"fmt"

	"golang.org/x/net/http2"
)

// ErrClosed is wrapped by every error of a stream or request on a
// connection that has ended; the cause is wrapped beside it.
var ErrClosed = errors.New("h2client: connection closed")

// ErrCanceled is passed to a Handler whose stream was canceled.
var ErrCanceled = errors.New("h2client: stream canceled")

// ErrStreamLimit is returned by Reserve and Do when the connection already
// carries as many streams as the server allows: the request was not sent.
var ErrStreamLimit = errors.New("h2client: at the server's concurrent stream limit")

// ErrPingTimeout is the cause of a connection closed because the server did
// not answer a liveness PING in time.
var ErrPingTimeout = errors.New("h2client: server did not answer PING")

// StreamError is a stream reset, by the peer or (Local) by us because the
// peer broke the protocol on that stream.
type StreamError struct {
	Code  http2.ErrCode
	Local bool
}

func (e StreamError) Error() string {
	if e.Local {
		return "h2client: stream reset for a protocol violation by the server: " + e.Code.String()
	}
	return "h2client: stream reset by peer: " + e.Code.String()
}

// GoAwayError is given to requests the server said it will not process
// because it is going away, and returned by Do once it has said so; such
// requests can be retried on another connection, whatever their method.
type GoAwayError struct {
	Code         http2.ErrCode
	LastStreamID uint32
	Debug        string
}

func (e GoAwayError) Error() string {
	msg := fmt.Sprintf("h2client: server going away (%s, last stream %d)", e.Code, e.LastStreamID)
	if e.Debug != "" {
		msg += ": " + e.Debug
	}
	return msg
}

// ConnError is a protocol violation by the server that ends the connection;
// we send it the code in our GOAWAY.
type ConnError struct {
	Code   http2.ErrCode
	Reason string
}

func (e ConnError) Error() string {
	return fmt.Sprintf("h2client: server broke the protocol (%s): %s", e.Code, e.Reason)
}

func connError(code http2.ErrCode, format string, args ...any) error {
	return ConnError{Code: code, Reason: fmt.Sprintf(format, args...)}
}

// Unprocessed reports whether err, from Do or given to a Handler, means the
// server has certainly not acted on the request, so that retrying it is
// safe for any method: it was refused by GOAWAY or REFUSED_STREAM, or never
// sent.
func Unprocessed(err error) bool {
	var goAway GoAwayError
	var reset StreamError
	switch {
	case errors.As(err, &goAway), errors.Is(err, ErrStreamLimit):
		return true
	case errors.As(err, &reset):
		return !reset.Local && reset.Code == http2.ErrCodeRefusedStream
	}
	return false
}
