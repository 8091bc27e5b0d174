package measurements

import (
	"math"
	"testing"
	"time"
)

var (
	getPods = CallKind{Resource: "pods", Verb: "GET", Scope: "resource"}
	t0      = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
)

// cumulative is a histogram with buckets 0.1 s, 1 s, 5 s, +Inf holding
// fast calls <= 0.1 s and slow ones in (1 s, 5 s].
func cumulative(fast, slow uint64) Histogram {
	n := fast + slow
	return Histogram{Count: n, Buckets: []Bucket{{0.1, fast}, {1, fast}, {5, n}, {math.Inf(1), n}}}
}

// scrapesOf builds scrapes at the given seconds after t0 whose counters
// grow by the given fast and slow calls in each interval.
func scrapesOf(at []int, fast, slow []uint64) []Scrape {
	var out []Scrape
	var f, s uint64
	for i, sec := range at {
		if i > 0 {
			f, s = f+fast[i-1], s+slow[i-1]
		}
		out = append(out, Scrape{At: t0.Add(time.Duration(sec) * time.Second), ProcessStart: 1,
			Kinds: map[CallKind]Histogram{getPods: cumulative(f, s)}})
	}
	return out
}

func span(w Window) [2]time.Duration { return [2]time.Duration{w.Start.Sub(t0), w.End.Sub(t0)} }

func TestSlidingWindowsAndTheWorst(t *testing.T) {
	// Seven one-minute intervals of 100 calls; the fifth has 10 slow ones.
	scrapes := scrapesOf([]int{0, 60, 120, 180, 240, 300, 360, 420},
		[]uint64{100, 100, 100, 100, 90, 100, 100}, []uint64{0, 0, 0, 0, 10, 0, 0})
	windows := Windows(Intervals(scrapes), 3*time.Minute)
	want := [][2]time.Duration{{0, 180 * time.Second}, {60 * time.Second, 240 * time.Second},
		{120 * time.Second, 300 * time.Second}, {180 * time.Second, 360 * time.Second}, {240 * time.Second, 420 * time.Second}}
	if len(windows) != len(want) {
		t.Fatalf("%d windows, want %d", len(windows), len(want))
	}
	for i, w := range windows {
		if span(w) != want[i] || w.Kinds[getPods].Count != 300 {
			t.Errorf("window %d: %v with %d calls, want %v with 300", i, span(w), w.Kinds[getPods].Count, want[i])
		}
	}
	// Three windows hold the slow calls: rank 297 of 300, 290 at or below
	// 1 s, so p99 = 1 + 4*(297-290)/10 = 3.8 s; the earliest is reported.
	worst := Worst(windows)[getPods]
	if span(worst) != want[2] || worst.Kinds[getPods].Quantile(0.99) != 3800*time.Millisecond {
		t.Errorf("worst window %v p99 %v, want %v and 3.8s", span(worst), worst.Kinds[getPods].Quantile(0.99), want[2])
	}
	// The whole run: rank 693 of 700, 690 at or below 1 s: 1 + 4*3/10.
	whole := Total(Intervals(scrapes))
	if got := whole.Kinds[getPods].Quantile(0.99); whole.Kinds[getPods].Count != 700 || got != 2200*time.Millisecond {
		t.Errorf("whole run: %d calls, p99 %v; want 700 and 2.2s", whole.Kinds[getPods].Count, got)
	}
}

func TestWindowsStartAtTheLatestScrapeAWindowBefore(t *testing.T) {
	scrapes := scrapesOf([]int{0, 70, 130, 200}, []uint64{1, 1, 1}, []uint64{0, 0, 0})
	windows := Windows(Intervals(scrapes), 2*time.Minute)
	want := [][2]time.Duration{{0, 130 * time.Second}, {70 * time.Second, 200 * time.Second}}
	if len(windows) != 2 || span(windows[0]) != want[0] || span(windows[1]) != want[1] {
		t.Errorf("windows %v, want %v", spans(windows), want)
	}
}

func TestARunShorterThanAWindowIsOneWindow(t *testing.T) {
	scrapes := scrapesOf([]int{0, 30, 60}, []uint64{5, 7}, []uint64{0, 1})
	windows := Windows(Intervals(scrapes), 5*time.Minute)
	if len(windows) != 1 || span(windows[0]) != [2]time.Duration{0, time.Minute} || windows[0].Kinds[getPods].Count != 13 {
		t.Errorf("windows %v, want the whole minute with 13 calls", spans(windows))
	}
}

func TestNoWindowSpansARestart(t *testing.T) {
	tests := []struct {
		name    string
		restart func(s *Scrape)
	}{
		// The counters went down: 210 calls before, 4 after the restart.
		{"counters went down", func(s *Scrape) { s.Kinds[getPods] = cumulative(4, 0) }},
		// The counters went up, but the process is a new one: what it
		// counted is all since the restart.
		{"new process", func(s *Scrape) { s.ProcessStart = 2; s.Kinds[getPods] = cumulative(250, 0) }},
		{"kind vanished", func(s *Scrape) { delete(s.Kinds, getPods) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			scrapes := scrapesOf([]int{0, 60, 120, 180}, []uint64{100, 10, 10}, []uint64{0, 0, 0})
			tt.restart(&scrapes[2])
			// The scrape after the restart counts on from the restarted value.
			after := scrapes[2].Kinds[getPods]
			scrapes[3].ProcessStart = scrapes[2].ProcessStart
			scrapes[3].Kinds = map[CallKind]Histogram{getPods: cumulative(after.Count+10, 0)}
			intervals := Intervals(scrapes)
			if intervals[0].Restarted || !intervals[1].Restarted || intervals[2].Restarted {
				t.Fatalf("restarted flags %v %v %v, want only the second", intervals[0].Restarted, intervals[1].Restarted, intervals[2].Restarted)
			}
			if got := intervals[1].Kinds[getPods].Count; got != after.Count {
				t.Errorf("the restarted interval counts %d, want the %d since the restart", got, after.Count)
			}
			windows := Windows(intervals, 5*time.Minute)
			want := [][2]time.Duration{{0, time.Minute}, {time.Minute, 3 * time.Minute}}
			if len(windows) != 2 || span(windows[0]) != want[0] || span(windows[1]) != want[1] {
				t.Errorf("windows %v, want %v", spans(windows), want)
			}
			if got := Total(intervals).Kinds[getPods].Count; got != 100+after.Count+10 {
				t.Errorf("whole run counts %d, want %d", got, 100+after.Count+10)
			}
		})
	}
}

func spans(ws []Window) [][2]time.Duration {
	var out [][2]time.Duration
	for _, w := range ws {
		out = append(out, span(w))
	}
	return out
}
