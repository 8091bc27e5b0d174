package hollow

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// ran collects what a wheel ran, in order.
type ran struct {
	mu    sync.Mutex
	names []string
	all   chan struct{}
	want  int
}

func newRan(want int) *ran { return &ran{all: make(chan struct{}), want: want} }

func (r *ran) task(name string) func() {
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.names = append(r.names, name)
		if len(r.names) == r.want {
			close(r.all)
		}
	}
}

func (r *ran) wait(t *testing.T) []string {
	t.Helper()
	select {
	case <-r.all:
	case <-time.After(10 * time.Second):
		t.Fatalf("the wheel ran %v, want %d tasks", r.got(), r.want)
	}
	return r.got()
}

func (r *ran) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.names)
}

func TestWheel(t *testing.T) {
	const slot = 100 * time.Millisecond
	tests := []struct {
		name string
		// tasks are scheduled in this order, each after its delay.
		tasks []struct {
			name string
			d    time.Duration
		}
		stop      []string // stopped right after scheduling
		want      []string // what runs, in order
		wantWakes int64    // at most this many wake-ups
	}{
		{"later slots run later", []struct {
			name string
			d    time.Duration
		}{{"c", 5 * slot}, {"a", slot}, {"b", 3 * slot}}, nil, []string{"a", "b", "c"}, 3},
		{"one slot, one wake-up, in the order scheduled", []struct {
			name string
			d    time.Duration
		}{{"a", 2 * slot}, {"b", 2*slot + slot/8}, {"c", 2*slot - slot/8}}, nil, []string{"a", "b", "c"}, 1},
		{"stopped tasks do not run", []struct {
			name string
			d    time.Duration
		}{{"a", slot}, {"b", slot}, {"c", 2 * slot}}, []string{"b"}, []string{"a", "c"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWheel(slot)
			defer w.stop()
			r := newRan(len(tt.want))
			timers := map[string]timer{}
			for _, task := range tt.tasks {
				timers[task.name] = w.AfterFunc(task.d, r.task(task.name))
			}
			for _, name := range tt.stop {
				if !timers[name].Stop() {
					t.Errorf("Stop of %s before its slot returned false", name)
				}
			}
			if got := r.wait(t); !slices.Equal(got, tt.want) {
				t.Errorf("ran %v, want %v", got, tt.want)
			}
			if got := w.wakes.Load(); got > tt.wantWakes {
				t.Errorf("%d wake-ups, want at most %d", got, tt.wantWakes)
			}
			for _, name := range tt.want {
				if timers[name].Stop() {
					t.Errorf("Stop of %s after it ran returned true", name)
				}
			}
		})
	}
}

// A task may schedule more work, due at once: it runs in the same wake-up.
// Nothing runs once the wheel is stopped.
func TestWheelReschedulesAndStops(t *testing.T) {
	w := newWheel(100 * time.Millisecond)
	r := newRan(3)
	w.AfterFunc(0, func() {
		r.task("first")()
		w.AfterFunc(0, func() {
			r.task("second")()
			w.AfterFunc(0, r.task("third"))
		})
	})
	if got := r.wait(t); !slices.Equal(got, []string{"first", "second", "third"}) {
		t.Errorf("ran %v", got)
	}
	if got := w.wakes.Load(); got != 1 {
		t.Errorf("%d wake-ups for work due at once, want 1", got)
	}
	w.stop()
	late := make(chan struct{})
	tm := w.AfterFunc(0, func() { close(late) })
	if tm.Stop() {
		t.Error("a task given to a stopped wheel could still be stopped")
	}
	select {
	case <-late:
		t.Error("a stopped wheel ran a task")
	case <-time.After(100 * time.Millisecond):
	}
}
