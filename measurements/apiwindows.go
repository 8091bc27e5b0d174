package measurements

import (
	"slices"
	"time"
)

// Scrape is one reading of the API server's SLI histograms.
type Scrape struct {
	At    time.Time
	Kinds map[CallKind]Histogram
	// ProcessStart is the API server's process_start_time_seconds, zero if
	// the page had none: when it changes, the server restarted.
	ProcessStart float64
}

// Interval is what the API server recorded between two consecutive
// scrapes, per call kind.
type Interval struct {
	Start, End time.Time
	Kinds      map[CallKind]Histogram
	// Restarted: the API server restarted within the interval, so Kinds
	// holds what it recorded since the restart; the calls between Start
	// and the restart are lost.
	Restarted bool
}

// Intervals turns consecutive scrapes into what each interval between them
// recorded. A restart (a new process start time, a counter that went down,
// a call kind that vanished, buckets that changed) resets every counter, so
// the interval then counts from zero, as Prometheus' rate() does on a
// counter reset.
func Intervals(scrapes []Scrape) []Interval {
	var out []Interval
	for i := 1; i < len(scrapes); i++ {
		prev, cur := scrapes[i-1], scrapes[i]
		in := Interval{Start: prev.At, End: cur.At, Kinds: map[CallKind]Histogram{},
			Restarted: restarted(prev, cur)}
		for kind, h := range cur.Kinds {
			if p, ok := prev.Kinds[kind]; ok && !in.Restarted {
				h = sub(h, p)
			}
			if h.Count > 0 {
				in.Kinds[kind] = h
			}
		}
		out = append(out, in)
	}
	return out
}

func restarted(prev, cur Scrape) bool {
	if prev.ProcessStart != 0 && cur.ProcessStart != 0 && prev.ProcessStart != cur.ProcessStart {
		return true
	}
	for kind, p := range prev.Kinds {
		c, ok := cur.Kinds[kind]
		if !ok || !sameBounds(p, c) || c.Count < p.Count {
			return true
		}
		for i := range c.Buckets {
			if c.Buckets[i].Count < p.Buckets[i].Count {
				return true
			}
		}
	}
	return false
}

// sub is a - b for histograms of the same bounds, b's counts being lower.
func sub(a, b Histogram) Histogram {
	out := Histogram{Count: a.Count - b.Count, Sum: a.Sum - b.Sum, Buckets: slices.Clone(a.Buckets)}
	for i := range out.Buckets {
		out.Buckets[i].Count -= b.Buckets[i].Count
	}
	return out
}

// Window is a span of consecutive intervals, summed.
type Window struct {
	Start, End time.Time
	Kinds      map[CallKind]Histogram
}

// Total sums intervals: what the API server recorded over all of them.
func Total(intervals []Interval) Window {
	if len(intervals) == 0 {
		return Window{Kinds: map[CallKind]Histogram{}}
	}
	return sum(intervals)
}

func sum(intervals []Interval) Window {
	w := Window{Start: intervals[0].Start, End: intervals[len(intervals)-1].End, Kinds: map[CallKind]Histogram{}}
	for _, in := range intervals {
		for kind, h := range in.Kinds {
			if prev, ok := w.Kinds[kind]; ok {
				// Bounds only change across a restart, which no caller
				// sums over but Total; such a kind keeps the first
				// layout's counts.
				if merged, err := add(prev, h); err == nil {
					h = merged
				} else {
					h = prev
				}
			}
			w.Kinds[kind] = h
		}
	}
	return w
}

// Windows are the sliding windows of length size over intervals, as
// Prometheus' rate(...[size]) sees them when evaluated at each scrape: one
// window ending at every scrape from size after the first on, starting at
// the latest scrape at least size before its end. No window spans a
// restart: the intervals are split into segments at each restart, and a
// segment shorter than size is one window. Empty intervals yield none.
func Windows(intervals []Interval, size time.Duration) []Window {
	var out []Window
	for _, seg := range segments(intervals) {
		if seg[len(seg)-1].End.Sub(seg[0].Start) < size {
			out = append(out, sum(seg))
			continue
		}
		first := 0
		for last := range seg {
			if seg[last].End.Sub(seg[0].Start) < size {
				continue
			}
			for first+1 <= last && seg[last].End.Sub(seg[first+1].Start) >= size {
				first++
			}
			out = append(out, sum(seg[first:last+1]))
		}
	}
	return out
}

// segments splits intervals before each one that saw a restart.
func segments(intervals []Interval) [][]Interval {
	var out [][]Interval
	begin := 0
	for i, in := range intervals {
		if in.Restarted && i > begin {
			out = append(out, intervals[begin:i])
			begin = i
		}
	}
	if begin < len(intervals) {
		out = append(out, intervals[begin:])
	}
	return out
}

// Worst is, per call kind, the window where its p99 was highest (the
// earliest of equals), with that window's histogram.
func Worst(windows []Window) map[CallKind]Window {
	out := map[CallKind]Window{}
	for _, w := range windows {
		for kind, h := range w.Kinds {
			best, ok := out[kind]
			if !ok || h.Quantile(0.99) > best.Kinds[kind].Quantile(0.99) {
				out[kind] = Window{Start: w.Start, End: w.End, Kinds: map[CallKind]Histogram{kind: h}}
			}
		}
	}
	return out
}
