package benchpeers

import (
	"fmt"
	"os"
	"time"

	"github.com/hollowmark/hollowmark/measurements"
)

// procSample is one reading of a process from /proc.
type procSample struct {
	At         time.Time
	CPUSeconds float64 // utime + stime since the process started
	RSSBytes   uint64
}

// readProc reads /proc/<pid>/stat and status: the same reading for every
// process, whichever emulator or component it is.
func readProc(pid int) (procSample, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procSample{}, err
	}
	st, err := measurements.ParseProcStat(string(stat))
	if err != nil {
		return procSample{}, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return procSample{}, err
	}
	rss, err := measurements.ParseVmRSS(string(status))
	if err != nil {
		return procSample{}, fmt.Errorf("/proc/%d/status: %w", pid, err)
	}
	return procSample{At: time.Now(), CPUSeconds: st.CPUSeconds(), RSSBytes: rss}, nil
}

// cores is the CPU used between two readings of one process, in cores.
func cores(from, to procSample) float64 {
	wall := to.At.Sub(from.At).Seconds()
	if wall <= 0 {
		return 0
	}
	return (to.CPUSeconds - from.CPUSeconds) / wall
}

const mib = 1 << 20
