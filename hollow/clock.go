package hollow

import (
	"net/url"
	"time"

	"github.com/hollowmark/hollowmark/internal/kubeapi"
)

// clock is where the kubelet's state machine takes its time and timers
// from: the real one, or a test's, which steps time by hand.
type clock interface {
	Now() time.Time
	// AfterFunc runs f after d exactly: the fake runtime's latencies,
	// which pod startup measures.
	AfterFunc(d time.Duration, f func()) timer
	// Tick runs f after about d, batched with the pool's other periodic
	// work (see wheel): heartbeats and retries, whose exact moment no
	// measurement reads.
	Tick(d time.Duration, f func()) timer
}

type timer interface{ Stop() bool }

// poolClock is the real clock, its coarse timers on the pool's wheel.
type poolClock struct{ wheel *wheel }

func (poolClock) Now() time.Time                            { return time.Now() }
func (poolClock) AfterFunc(d time.Duration, f func()) timer { return time.AfterFunc(d, f) }
func (c poolClock) Tick(d time.Duration, f func()) timer    { return c.wheel.AfterFunc(d, f) }

// apiClient is what a kubelet needs of its API client: calls, and
// list-watches. Do must not call done itself (callers hold locks).
type apiClient interface {
	Do(call kubeapi.Call, done func(kubeapi.Response))
	// Watch prepares a list-watch; minTimeout, if not zero, bounds the
	// server's watch timeouts from below.
	Watch(path string, selectors url.Values, minTimeout time.Duration, h kubeapi.ListWatchHandler) watcher
}

type watcher interface {
	Start()
	Stop()
}

// kubeClient is an apiClient over a kubeapi.Client.
type kubeClient struct{ *kubeapi.Client }

func (c kubeClient) Watch(path string, selectors url.Values, minTimeout time.Duration, h kubeapi.ListWatchHandler) watcher {
	lw := c.NewListWatch(path, selectors, h)
	lw.MinTimeout = minTimeout
	return lw
}
