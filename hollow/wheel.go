package hollow

import (
	"container/heap"
	"sync"
	"sync/atomic"
	"time"
)

// wheelSlot is the wheel's resolution. A heartbeat's deadline moves to the
// nearest slot boundary, at most half a slot either way, so its mean period
// stays the kubelet's; what a thousand nodes have due within one slot runs
// in one wake-up.
const wheelSlot = 100 * time.Millisecond

// wheel runs a pool's periodic per-node work (lease renewals, node status
// ticks, their retries, token refreshes) from one timer instead of a
// runtime timer and a goroutine per node and period: an idle pool of n
// nodes wakes ten times a second, not 2n/10 times.
//
// Due work runs on the wheel's goroutine, one task after another, so a
// task must not block: it takes a node's lock and starts API calls, which
// never wait for the server. Work that a measurement times (the fake
// runtime's latencies) stays on precise timers: a slot would round it.
type wheel struct {
	slot time.Duration
	base time.Time // slot n starts at base + n·slot (monotonic)

	mu      sync.Mutex
	buckets map[int64][]*wheelTimer
	due     slotHeap // the slots that have a bucket
	wake    *time.Timer
	armed   int64 // the slot wake is set for; noSlot when unset
	firing  bool  // a wake-up is running the due buckets
	stopped bool
	spare   [][]*wheelTimer // emptied buckets, for reuse

	wakes atomic.Int64 // wake-ups so far, for tests
}

const noSlot = -1

func newWheel(slot time.Duration) *wheel {
	w := &wheel{slot: slot, base: time.Now(), buckets: map[int64][]*wheelTimer{}, armed: noSlot}
	w.wake = time.AfterFunc(time.Hour, w.fire)
	w.wake.Stop()
	return w
}

// wheelTimer is one task on the wheel.
type wheelTimer struct {
	f     func()
	state atomic.Int32 // timerPending, timerRan or timerStopped
}

const (
	timerPending int32 = iota
	timerRan
	timerStopped
)

// Stop keeps the task from running; false if it ran or was stopped already.
// A stopped task keeps its place until its slot comes, and is skipped then.
func (t *wheelTimer) Stop() bool { return t.state.CompareAndSwap(timerPending, timerStopped) }

// AfterFunc runs f on the wheel's goroutine in the slot nearest to d from
// now. A stopped wheel runs nothing.
func (w *wheel) AfterFunc(d time.Duration, f func()) timer {
	t := &wheelTimer{f: f}
	n := int64((time.Since(w.base) + d + w.slot/2) / w.slot)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		t.state.Store(timerStopped)
		return t
	}
	b, ok := w.buckets[n]
	if !ok {
		if len(w.spare) > 0 {
			b, w.spare = w.spare[len(w.spare)-1], w.spare[:len(w.spare)-1]
		}
		heap.Push(&w.due, n)
	}
	w.buckets[n] = append(b, t)
	if !w.firing && (w.armed == noSlot || n < w.armed) {
		w.armLocked(n)
	}
	return t
}

// armLocked sets the wake-up for slot n.
func (w *wheel) armLocked(n int64) {
	w.armed = n
	w.wake.Reset(time.Until(w.base.Add(time.Duration(n) * w.slot)))
}

// fire runs every bucket that is due, those that its tasks add to the
// current slot included, then sets the next wake-up.
func (w *wheel) fire() {
	w.wakes.Add(1)
	w.mu.Lock()
	w.firing, w.armed = true, noSlot
	for !w.stopped && len(w.due) > 0 {
		n := w.due[0]
		if now := int64(time.Since(w.base) / w.slot); n > now {
			w.armLocked(n)
			break
		}
		heap.Pop(&w.due)
		b := w.buckets[n]
		delete(w.buckets, n)
		w.mu.Unlock()
		for i, t := range b {
			if t.state.CompareAndSwap(timerPending, timerRan) {
				t.f()
			}
			b[i] = nil
		}
		w.mu.Lock()
		if cap(b) <= 1024 {
			w.spare = append(w.spare, b[:0])
		}
	}
	w.firing = false
	w.mu.Unlock()
}

// stop drops every task; none runs after stop returns but one under way.
func (w *wheel) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	w.wake.Stop()
	w.buckets, w.due, w.spare = nil, nil, nil
}

// slotHeap is a min-heap of slot numbers.
type slotHeap []int64

func (h slotHeap) Len() int           { return len(h) }
func (h slotHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h slotHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *slotHeap) Push(x any)        { *h = append(*h, x.(int64)) }
func (h *slotHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
