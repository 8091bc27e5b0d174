// Package rundir keeps track of which hollowmark process owns a run
// directory, so that the directories of a hollowmark that was killed
// (SIGKILL, OOM killer, power loss) are found and marked stale by the next
// one rather than taken for live runs.
package rundir

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hollowmark/hollowmark/internal/atomicfile"
)

// Files in a run directory.
const (
	// OwnerFile names the live process using the directory; it is removed
	// when that process ends cleanly.
	OwnerFile = "hollowmark.owner"
	// StaleFile says that the owner ended without cleaning up.
	StaleFile = "STALE"
)

// owner identifies a process across PID reuse: the PID and its start time
// in clock ticks since boot (/proc/PID/stat field 22).
type owner struct {
	PID       int    `json:"pid"`
	StartTime uint64 `json:"startTime"`
	Since     string `json:"since"`
}

// Claim marks dir as used by this process. The returned release removes the
// mark; a process that dies without calling it leaves the mark for
// MarkStale to find.
func Claim(dir string) (release func(), err error) {
	start, err := startTime(os.Getpid())
	if err != nil {
		return nil, fmt.Errorf("claiming run directory %s: %w", dir, err)
	}
	data, err := json.Marshal(owner{PID: os.Getpid(), StartTime: start, Since: time.Now().UTC().Format(time.RFC3339)})
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, OwnerFile)
	if err := atomicfile.WriteFile(path, data, 0o600); err != nil {
		return nil, fmt.Errorf("claiming run directory: %w", err)
	}
	return func() { os.Remove(path) }, nil
}

// Stale is a run directory whose owner is gone.
type Stale struct {
	Dir   string
	PID   int
	Since string
}

// MarkStale looks at the directories beside self (the runs/ directory of
// earlier runs) and marks each one whose owner is no longer running: it
// writes StaleFile there, saying so, and removes the owner mark. Live runs
// and directories hollowmark never claimed are left alone.
func MarkStale(self string) ([]Stale, error) {
	parent := filepath.Dir(self)
	entries, err := os.ReadDir(parent)
	if err != nil {
		return nil, fmt.Errorf("looking for stale run directories in %s: %w", parent, err)
	}
	var out []Stale
	var errs []error
	for _, e := range entries {
		dir := filepath.Join(parent, e.Name())
		if !e.IsDir() || dir == self {
			continue
		}
		s, err := markIfStale(dir, self)
		if err != nil {
			errs = append(errs, err)
		} else if s != nil {
			out = append(out, *s)
		}
	}
	return out, errors.Join(errs...)
}

func markIfStale(dir, by string) (*Stale, error) {
	path := filepath.Join(dir, OwnerFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	var o owner
	if err := json.Unmarshal(data, &o); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if alive(o) {
		return nil, nil
	}
	note := fmt.Sprintf("hollowmark (pid %d, running since %s) ended without cleaning up: killed or crashed.\n"+
		"Found by the run in %s at %s. What it wrote here is incomplete.\n", o.PID, o.Since, by, time.Now().UTC().Format(time.RFC3339))
	if err := atomicfile.WriteFile(filepath.Join(dir, StaleFile), []byte(note), 0o600); err != nil {
		return nil, fmt.Errorf("marking %s stale: %w", dir, err)
	}
	if err := os.Remove(path); err != nil {
		return nil, fmt.Errorf("marking %s stale: %w", dir, err)
	}
	return &Stale{Dir: dir, PID: o.PID, Since: o.Since}, nil
}

func alive(o owner) bool {
	start, err := startTime(o.PID)
	return err == nil && start == o.StartTime
}

// startTime reads a process's start time from /proc/PID/stat. The command
// name (field 2) may hold spaces and parentheses, so fields are counted
// after its last ')'.
func startTime(pid int) (uint64, error) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, err
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	fields := strings.Fields(s[i+1:])
	// fields[0] is field 3 (state); the start time is field 22.
	if len(fields) < 20 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(fields)+2)
	}
	return strconv.ParseUint(fields[19], 10, 64)
}
