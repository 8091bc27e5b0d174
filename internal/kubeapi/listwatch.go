package kubeapi

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2/hpack"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/hollowmark/hollowmark/internal/h2client"
)

// ListWatchHandler receives a list-watch's view of a collection. Replace
// and Event come one at a time, from the connection's reader goroutine,
// and must not block; Failed, for logs and metrics, may come from any
// goroutine.
type ListWatchHandler interface {
	// Replace delivers a complete listing: objects not in it are gone.
	Replace(items []runtime.Object)
	// Event delivers one change after the listing.
	Event(t watch.EventType, obj runtime.Object)
	// Failed reports why the list-watch is being retried (for logs).
	Failed(err error)
}

// ObjectsUnused, implemented by a ListWatchHandler, says it never looks at
// the objects it is handed (a watch kept only as the load it puts on the
// server): the list-watch then reads only their resource versions and
// hands it nil objects, and empty listings.
type ObjectsUnused interface{ ObjectsUnused() }

// The server ends each watch after a random timeout in this range, as a
// reflector asks, so that watches spread over the API servers.
const minWatchTimeout = 5 * time.Minute

// ListWatch lists a collection, then watches it from the listed resource
// version, re-watching when the server ends the watch and re-listing when
// the version has expired, like a client-go reflector but without a
// goroutine of its own.
type ListWatch struct {
	client    *Client
	path      string
	selectors url.Values
	h         ListWatchHandler
	unused    bool // h implements ObjectsUnused

	mu       sync.Mutex
	rv       string
	stream   *h2client.Stream
	timer    *time.Timer
	failures int
	stopped  bool
	// noWatchList is set once the server refused a streaming list: from
	// then on the list-watch lists, as a reflector falls back to.
	noWatchList bool
	// MinTimeout, if set before Start, replaces the shortest watch
	// timeout; the server ends each watch within [MinTimeout, 2·MinTimeout].
	MinTimeout time.Duration
}

// NewListWatch prepares a list-watch of the collection at path (e.g.
// /api/v1/pods) filtered by selectors (fieldSelector, labelSelector).
func (c *Client) NewListWatch(path string, selectors url.Values, h ListWatchHandler) *ListWatch {
	_, unused := h.(ObjectsUnused)
	return &ListWatch{client: c, path: path, selectors: selectors, h: h, unused: unused}
}

// Start begins: with a streaming list (a watch that sends the current
// objects first, client-go's WatchListClient, on by default since v1.35),
// falling back to LIST then WATCH when the server does not support it.
func (lw *ListWatch) Start() { lw.resync() }

// initialEventsEnd is the annotation on the bookmark that ends a streaming
// list's initial events.
const initialEventsEnd = "k8s.io/initial-events-end"

// resync gets the whole collection again: by streaming list, or by LIST.
func (lw *ListWatch) resync() {
	lw.mu.Lock()
	fallback := lw.noWatchList
	lw.mu.Unlock()
	if fallback {
		lw.list()
		return
	}
	lw.startWatch(true)
}

// Stop ends the list-watch; no handler call starts after Stop returns
// except one already under way.
func (lw *ListWatch) Stop() {
	lw.mu.Lock()
	lw.stopped = true
	stream, timer := lw.stream, lw.timer
	lw.stream, lw.timer = nil, nil
	lw.mu.Unlock()
	if timer != nil {
		timer.Stop()
	}
	if stream != nil {
		stream.Cancel()
	}
}

func (lw *ListWatch) isStopped() bool {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return lw.stopped
}

func (lw *ListWatch) query(extra ...string) url.Values {
	q := url.Values{}
	for k, v := range lw.selectors {
		q[k] = v
	}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return q
}

func (lw *ListWatch) list() {
	if lw.isStopped() {
		return
	}
	// resourceVersion=0 is served from the API server's watch cache, as a
	// reflector's first list is.
	lw.client.Do(Call{Verb: "LIST", Path: lw.path, Query: lw.query("resourceVersion", "0")}, func(resp Response) {
		if resp.Err != nil {
			lw.retry(fmt.Errorf("listing %s: %w", lw.path, resp.Err), lw.list)
			return
		}
		if err := lw.replace(resp.Body); err != nil {
			lw.retry(err, lw.list)
			return
		}
		lw.watch()
	})
}

func (lw *ListWatch) replace(body []byte) error {
	obj, err := lw.client.Codec.Decode(body)
	if err != nil {
		return fmt.Errorf("decoding list of %s: %w", lw.path, err)
	}
	listMeta, err := meta.ListAccessor(obj)
	if err != nil {
		return fmt.Errorf("list of %s: %w", lw.path, err)
	}
	items, err := meta.ExtractList(obj)
	if err != nil {
		return fmt.Errorf("list of %s: %w", lw.path, err)
	}
	lw.mu.Lock()
	lw.rv = listMeta.GetResourceVersion()
	stopped := lw.stopped
	lw.mu.Unlock()
	if !stopped {
		lw.h.Replace(items)
	}
	return nil
}

func (lw *ListWatch) watch() { lw.startWatch(false) }

// startWatch watches from the last resource version, or, as a streaming
// list, from the current state with every object sent first.
func (lw *ListWatch) startWatch(initial bool) {
	lw.client.throttle(false, func() {
		lw.mu.Lock()
		if lw.stopped {
			lw.mu.Unlock()
			return
		}
		least := minWatchTimeout
		if lw.MinTimeout > 0 {
			least = lw.MinTimeout
		}
		timeout := least + rand.N(least)
		q := lw.query("watch", "true", "resourceVersion", lw.rv, "allowWatchBookmarks", "true",
			"timeoutSeconds", strconv.Itoa(int(timeout.Seconds())))
		if initial {
			q.Set("resourceVersion", "")
			q.Set("sendInitialEvents", "true")
			q.Set("resourceVersionMatch", string(metav1.ResourceVersionMatchNotOlderThan))
		}
		lw.mu.Unlock()
		wh := &watchHandler{lw: lw, started: time.Now(), initial: initial}
		lw.client.start(Call{Verb: "WATCH", Path: lw.path, Query: q}, wh, func(stream *h2client.Stream, err error) {
			if err != nil {
				next := lw.watch
				if initial { // no listing yet: a plain watch would miss what exists
					next = lw.resync
				}
				lw.retry(fmt.Errorf("watching %s: %w", lw.path, err), next)
				return
			}
			lw.mu.Lock()
			if lw.stopped {
				lw.mu.Unlock()
				stream.Cancel()
				return
			}
			lw.stream = stream
			lw.mu.Unlock()
			wh.stream.Store(stream)
			if wh.abandoned.Load() {
				stream.Cancel()
			}
		})
	})
}

// retry runs next after a back-off that grows with consecutive failures.
func (lw *ListWatch) retry(err error, next func()) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	if lw.stopped {
		return
	}
	lw.failures++
	lw.stream = nil
	lw.h.Failed(err)
	lw.timer = time.AfterFunc(backoff(min(lw.failures, 8)), next)
}

// watchHandler decodes one watch response.
type watchHandler struct {
	lw      *ListWatch
	started time.Time
	status  int
	frames  frameReader
	// initial: a streaming list whose objects are gathered until the
	// initial-events-end bookmark, then handed over as one Replace.
	initial bool
	items   []runtime.Object
	errBody []byte
	expired bool
	err     error
	// abandoned is set when the rest of the stream is of no use; the stream
	// is then reset so the server stops sending.
	abandoned atomic.Bool
	stream    atomic.Pointer[h2client.Stream]
}

func (w *watchHandler) abandon() {
	w.abandoned.Store(true)
	if s := w.stream.Load(); s != nil {
		s.Cancel()
	}
}

func (w *watchHandler) Headers(status int, _ []hpack.HeaderField) { w.status = status }

func (w *watchHandler) Data(p []byte) {
	if w.status != http.StatusOK {
		if len(w.errBody) < 4096 {
			w.errBody = append(w.errBody, p...)
		}
		return
	}
	if !w.abandoned.Load() {
		w.frames.feed(p, w.event)
	}
}

// event handles one frame; false stops the stream.
func (w *watchHandler) event(frame []byte) bool {
	lw := w.lw
	ev, err := lw.client.Codec.readEvent(frame, lw.unused)
	if err != nil {
		w.err = err
		w.abandon()
		return false
	}
	if ev.typ == watch.Error {
		if st, ok := ev.obj.(*metav1.Status); ok && st.Code == http.StatusGone {
			w.expired = true
		} else {
			w.err = fmt.Errorf("watch of %s: server error event: %v", lw.path, ev.obj)
		}
		w.abandon()
		return false
	}
	lw.mu.Lock()
	if ev.rv != "" {
		lw.rv = ev.rv
	}
	stopped := lw.stopped
	lw.failures = 0
	lw.mu.Unlock()
	if stopped {
		w.abandon()
		return false
	}
	switch {
	case w.initial && ev.typ == watch.Bookmark:
		if ev.initialEnd {
			w.initial = false
			items := w.items
			w.items = nil
			lw.h.Replace(items)
		}
	case w.initial:
		if ev.obj != nil {
			w.items = append(w.items, ev.obj)
		}
	case ev.typ != watch.Bookmark:
		lw.h.Event(ev.typ, ev.obj)
	}
	return true
}

func (w *watchHandler) Close(err error) {
	lw := w.lw
	if lw.isStopped() {
		return
	}
	lw.client.observe(Call{Verb: "WATCH", Path: lw.path}, w.status, time.Since(w.started))
	switch {
	case w.expired || w.status == http.StatusGone:
		// Our resource version is too old: start over from a fresh list.
		lw.retry(fmt.Errorf("watch of %s expired; re-listing", lw.path), lw.resync)
	case w.err != nil:
		lw.retry(w.err, lw.resync)
	case w.initial && w.status >= 400 && w.status < 500:
		// The server does not do streaming lists: list, as client-go does.
		lw.mu.Lock()
		lw.noWatchList = true
		lw.mu.Unlock()
		lw.retry(fmt.Errorf("streaming list of %s refused (HTTP %d: %s); listing instead", lw.path, w.status, lw.client.Codec.statusMessage(w.errBody)), lw.list)
	case err != nil, w.status != http.StatusOK:
		lw.retry(w.closeError(err), w.restart())
	default:
		// The server's timeout ended the watch: carry on where it stopped,
		// or start over if it ended before the initial events did.
		w.restart()()
	}
}

func (w *watchHandler) closeError(err error) error {
	if err != nil {
		return fmt.Errorf("watch of %s: %w", w.lw.path, err)
	}
	return fmt.Errorf("watch of %s: HTTP %d: %s", w.lw.path, w.status, w.lw.client.Codec.statusMessage(w.errBody))
}

// restart is what follows a watch that ended: a streaming list cut short
// starts over; a watch resumes from its last resource version.
func (w *watchHandler) restart() func() {
	if w.initial {
		return w.lw.resync
	}
	return w.lw.watch
}
