package kubeapi

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	goruntime "runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"

	"github.com/hollowmark/hollowmark/controlplane"
	"github.com/hollowmark/hollowmark/internal/testenv"
)

// BenchmarkWatchTransport answers issue 12's question about our HTTP/2
// stack: what does holding the watches of 1,000 nodes cost over it (one
// h2client connection per node, kubeapi list-watches), and over
// golang.org/x/net/http2 (one ClientConn per node, as client-go would use,
// each watch's body read by a goroutine of its own, frames decoded with the
// same codec)? Both stacks ping idle connections as client-go does. The
// control plane runs in child processes, so the RSS and CPU deltas of this
// process are the clients'. Issue 12: if x/net comes within 20%, switch.
func BenchmarkWatchTransport(b *testing.B) {
	const nodes = 1000
	for _, stack := range []string{"h2client", "x-net-http2"} {
		b.Run(fmt.Sprintf("nodes=%d/stack=%s", nodes, stack), func(b *testing.B) {
			for range b.N {
				benchWatches(b, nodes, stack)
			}
		})
	}
}

const (
	benchSettle = 15 * time.Second // after the initial events, before measuring
	benchIdle   = time.Minute
)

// nodeWatches are a full-fidelity hollow node's: its kubelet's five and
// its kube-proxy's four (hollow/registration.go, hollow/proxy.go).
func nodeWatches(node string) []benchWatch {
	return []benchWatch{
		{"/api/v1/pods", url.Values{"fieldSelector": {"spec.nodeName=" + node}}},
		{"/api/v1/nodes", url.Values{"fieldSelector": {"metadata.name=" + node}}},
		{"/api/v1/services", url.Values{"fieldSelector": {"spec.clusterIP!=None"}}},
		{"/apis/node.k8s.io/v1/runtimeclasses", nil},
		{"/apis/storage.k8s.io/v1/csidrivers", nil},
		{"/api/v1/services", url.Values{"labelSelector": {"!service.kubernetes.io/service-proxy-name"}, "fieldSelector": {"spec.clusterIP!=None"}}},
		{"/apis/discovery.k8s.io/v1/endpointslices", url.Values{"labelSelector": {"!service.kubernetes.io/headless"}}},
		{"/api/v1/nodes", url.Values{"fieldSelector": {"metadata.name=" + node}}},
		{"/apis/networking.k8s.io/v1/servicecidrs", nil},
	}
}

type benchWatch struct {
	path      string
	selectors url.Values
}

// watchStack holds the watches of many nodes until stopped.
type watchStack interface {
	start(node string, watches []benchWatch, synced func()) error
	stop(b *testing.B)
}

func benchWatches(b *testing.B, nodes int, stack string) {
	cp := testenv.StartControlPlane(b, controlplane.Options{Nodes: nodes})
	tlsConfig, err := rest.TLSConfigFor(cp.Config)
	if err != nil {
		b.Fatal(err)
	}
	u, err := url.Parse(cp.Config.Host)
	if err != nil {
		b.Fatal(err)
	}
	var s watchStack
	switch stack {
	case "h2client":
		s = &ourStack{addr: u.Host, tls: tlsConfig, codec: NewCodec()}
	default:
		s = &xnetStack{addr: u.Host, tls: tlsConfig, codec: NewCodec()}
	}
	debug.FreeOSMemory()
	baseRSS, baseMem, baseG := rssKB(b), goMemKB(), goruntime.NumGoroutine()
	begin := time.Now()
	var synced sync.WaitGroup
	synced.Add(nodes * len(nodeWatches("")))
	startNodes(b, s, nodes, synced.Done)
	waitSynced(b, &synced, s)
	b.ReportMetric(time.Since(begin).Seconds(), "s-to-synced")
	time.Sleep(benchSettle)
	cpu0, wall0 := cpuTime(), time.Now()
	time.Sleep(benchIdle)
	cores := (cpuTime() - cpu0).Seconds() / time.Since(wall0).Seconds()
	b.ReportMetric(cores*1000/float64(nodes), "mcores/node")
	b.ReportMetric(float64(rssKB(b)-baseRSS)/float64(nodes), "KB/node")
	b.ReportMetric(float64(goMemKB()-baseMem)/float64(nodes), "go-KB/node")
	b.ReportMetric(float64(goruntime.NumGoroutine()-baseG)/float64(nodes), "goroutines/node")
	s.stop(b)
}

// waitSynced waits for every watch's initial events, failing the benchmark
// after ten minutes rather than hanging.
func waitSynced(b *testing.B, synced *sync.WaitGroup, s watchStack) {
	done := make(chan struct{})
	go func() { synced.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Minute):
		s.stop(b)
		b.Fatal("watches not synced after 10 minutes")
	}
}

func startNodes(b *testing.B, s watchStack, nodes int, synced func()) {
	jobs := make(chan int)
	var wg sync.WaitGroup
	var failed atomic.Pointer[error]
	for range 64 {
		wg.Go(func() {
			for i := range jobs {
				name := "bench-" + strconv.Itoa(i)
				if err := s.start(name, nodeWatches(name), synced); err != nil {
					failed.Store(&err)
				}
			}
		})
	}
	for i := range nodes {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}
}

// ourStack: a kubeapi Pool (one h2client connection) per node.
type ourStack struct {
	addr  string
	tls   *tls.Config
	codec *Codec

	mu       sync.Mutex
	pools    []*Pool
	watches  []*ListWatch
	failures atomic.Int64
}

func (s *ourStack) start(node string, watches []benchWatch, synced func()) error {
	pool := &Pool{Addr: s.addr, TLS: s.tls}
	c := &Client{Conns: pool, Codec: s.codec, UserAgent: "bench", Ctx: context.Background()}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pools = append(s.pools, pool)
	for _, w := range watches {
		lw := c.NewListWatch(w.path, w.selectors, &syncOnce{synced: synced, failures: &s.failures})
		lw.Start()
		s.watches = append(s.watches, lw)
	}
	return nil
}

func (s *ourStack) stop(b *testing.B) {
	if n := s.failures.Load(); n > 0 {
		b.Logf("h2client: %d list-watch failures, retried", n)
	}
	for _, lw := range s.watches {
		lw.Stop()
	}
	for _, p := range s.pools {
		p.Close()
	}
}

// syncOnce reports the first listing, and counts failures.
type syncOnce struct {
	synced   func()
	done     bool
	failures *atomic.Int64
}

func (h *syncOnce) Replace([]runtime.Object) {
	if !h.done {
		h.done = true
		h.synced()
	}
}
func (h *syncOnce) Event(watch.EventType, runtime.Object) {}
func (h *syncOnce) Failed(error)                          { h.failures.Add(1) }

// xnetStack: an x/net http2.Transport per node, holding one ClientConn to
// the server and dialing a new one when it dies (client-go's arrangement),
// and a goroutine per watch reading its body, as net/http users (client-go's
// reflectors) read watches.
type xnetStack struct {
	addr  string
	tls   *tls.Config
	codec *Codec

	mu         sync.Mutex
	transports []*http2.Transport
	cancel     []context.CancelFunc
	errors     int
	firstErr   error
}

func (s *xnetStack) failed(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errors++
	if s.firstErr == nil {
		s.firstErr = err
	}
}

func (s *xnetStack) start(node string, watches []benchWatch, synced func()) error {
	// client-go's settings for HTTP/2 health checks.
	t := &http2.Transport{TLSClientConfig: s.tls.Clone(), ReadIdleTimeout: 30 * time.Second, PingTimeout: 15 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	s.mu.Lock()
	s.transports = append(s.transports, t)
	s.cancel = append(s.cancel, cancel)
	s.mu.Unlock()
	for _, w := range watches {
		go s.watch(ctx, t, w, synced)
	}
	return nil
}

// watch holds one streaming list, re-opening it when the server ends it.
func (s *xnetStack) watch(ctx context.Context, t *http2.Transport, w benchWatch, synced func()) {
	q := url.Values{}
	for k, v := range w.selectors {
		q[k] = v
	}
	q.Set("watch", "true")
	q.Set("sendInitialEvents", "true")
	q.Set("resourceVersionMatch", string(metav1.ResourceVersionMatchNotOlderThan))
	q.Set("allowWatchBookmarks", "true")
	q.Set("timeoutSeconds", strconv.Itoa(int((minWatchTimeout * 3 / 2).Seconds())))
	u := "https://" + s.addr + w.path + "?" + q.Encode()
	reported := false
	failures := 0
	for ctx.Err() == nil {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			panic(err)
		}
		req.Header.Set("Accept", acceptProtobuf)
		resp, err := t.RoundTrip(req)
		if err != nil {
			// Retried with our list-watch's back-off, as a reflector would.
			s.failed(err)
			failures++
			time.Sleep(backoff(min(failures, 8)))
			continue
		}
		failures = 0
		s.read(resp.Body, func() {
			if !reported {
				reported = true
				synced()
			}
		})
		resp.Body.Close()
	}
}

// read decodes watch events as they arrive, with a 1 KB read buffer (as
// client-go's streaming decoder starts with).
func (s *xnetStack) read(body io.Reader, synced func()) {
	var frames frameReader
	buf := make([]byte, 1024)
	for {
		n, err := body.Read(buf)
		frames.feed(buf[:n], func(frame []byte) bool {
			t, obj, err := s.codec.decodeEvent(frame)
			if err != nil {
				return false
			}
			if acc, err := meta.Accessor(obj); err == nil && t == watch.Bookmark && acc.GetAnnotations()[initialEventsEnd] == "true" {
				synced()
			}
			return true
		})
		if err != nil {
			return
		}
	}
}

func (s *xnetStack) stop(b *testing.B) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.errors > 0 {
		b.Logf("x/net: %d failed round trips, retried; the first: %v", s.errors, s.firstErr)
	}
	for i, t := range s.transports {
		s.cancel[i]()
		t.CloseIdleConnections()
	}
}

func rssKB(b *testing.B) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb
		}
	}
	b.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// goMemKB is the Go heap in use plus goroutine stacks: what the clients
// hold, without the allocator's slack that RSS also counts.
func goMemKB() int64 {
	goruntime.GC()
	var m goruntime.MemStats
	goruntime.ReadMemStats(&m)
	return int64(m.HeapInuse+m.StackInuse) / 1024
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
