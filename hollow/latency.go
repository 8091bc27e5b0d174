package hollow

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Latency is a distribution the fake runtime draws step durations from.
type Latency interface {
	Sample() time.Duration
	String() string
}

// ParseLatency reads a distribution:
//
//	50ms                     constant
//	uniform:10ms-100ms       uniform between the bounds
//	normal:100ms,20ms        normal with mean and standard deviation (never negative)
//	file:PATH                empirical: durations, one per line, drawn at random
func ParseLatency(spec string) (Latency, error) {
	kind, arg, found := strings.Cut(spec, ":")
	if !found {
		d, err := time.ParseDuration(spec)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("latency %q: want a duration such as 50ms, or uniform:, normal: or file:", spec)
		}
		return constant(d), nil
	}
	switch kind {
	case "uniform":
		lo, hi, err := durationPair(arg, "-")
		if err != nil || hi < lo {
			return nil, fmt.Errorf("latency %q: want uniform:MIN-MAX with MIN <= MAX", spec)
		}
		return uniform{lo, hi}, nil
	case "normal":
		mean, sd, err := durationPair(arg, ",")
		if err != nil {
			return nil, fmt.Errorf("latency %q: want normal:MEAN,STDDEV", spec)
		}
		return normal{mean, sd}, nil
	case "file":
		return loadEmpirical(arg)
	}
	return nil, fmt.Errorf("latency %q: unknown distribution %q (constant, uniform, normal, file)", spec, kind)
}

func durationPair(s, sep string) (time.Duration, time.Duration, error) {
	a, b, ok := strings.Cut(s, sep)
	if !ok {
		return 0, 0, fmt.Errorf("missing %q", sep)
	}
	x, err := time.ParseDuration(a)
	if err != nil || x < 0 {
		return 0, 0, fmt.Errorf("bad duration %q", a)
	}
	y, err := time.ParseDuration(b)
	if err != nil || y < 0 {
		return 0, 0, fmt.Errorf("bad duration %q", b)
	}
	return x, y, nil
}

type constant time.Duration

func (c constant) Sample() time.Duration { return time.Duration(c) }
func (c constant) String() string        { return time.Duration(c).String() }

type uniform struct{ lo, hi time.Duration }

func (u uniform) Sample() time.Duration {
	if u.hi == u.lo {
		return u.lo
	}
	return u.lo + rand.N(u.hi-u.lo)
}
func (u uniform) String() string { return fmt.Sprintf("uniform:%s-%s", u.lo, u.hi) }

type normal struct{ mean, sd time.Duration }

func (n normal) Sample() time.Duration {
	return max(0, n.mean+time.Duration(rand.NormFloat64()*float64(n.sd)))
}
func (n normal) String() string { return fmt.Sprintf("normal:%s,%s", n.mean, n.sd) }

type empirical struct {
	path    string
	samples []time.Duration
}

func (e empirical) Sample() time.Duration { return e.samples[rand.N(len(e.samples))] }
func (e empirical) String() string        { return "file:" + e.path }

// loadEmpirical reads one duration per line ("1.5s", "200ms", or a bare
// number of seconds); blank lines and # comments are skipped.
func loadEmpirical(path string) (Latency, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("latency file: %w", err)
	}
	defer f.Close()
	var samples []time.Duration
	scanner := bufio.NewScanner(f)
	for line := 1; scanner.Scan(); line++ {
		text := strings.TrimSpace(scanner.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		d, err := time.ParseDuration(text)
		if err != nil {
			secs, ferr := strconv.ParseFloat(text, 64)
			if ferr != nil || secs < 0 {
				return nil, fmt.Errorf("%s:%d: %q is not a duration", path, line, text)
			}
			d = time.Duration(secs * float64(time.Second))
		}
		if d < 0 {
			return nil, fmt.Errorf("%s:%d: negative duration %q", path, line, text)
		}
		samples = append(samples, d)
	}
	if err := scanner.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(samples) == 0 {
		return nil, fmt.Errorf("%s: no durations", path)
	}
	slices.Sort(samples)
	return empirical{path: path, samples: samples}, nil
}
