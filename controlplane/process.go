package controlplane

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// process is one control-plane component running as a child process.
type process struct {
	name    string
	binary  string
	args    []string
	cmd     *exec.Cmd
	logPath string
	logFile *os.File
	done    chan struct{}
	waitErr error // valid once done is closed
	// stopping is set once we ask the process to exit.
	stopping atomic.Bool
}

// startProcess runs binary with args, sending its output to logPath.
//
// The child gets its own process group so that a Ctrl-C on the terminal
// reaches only hollowmark, which then stops the components in order. The
// parent-death signal makes the kernel kill the child if hollowmark dies
// without stopping it (SIGKILL, a crash), so no component outlives us.
func startProcess(name, binary string, args []string, logPath string) (*process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening log of %s: %w", name, err)
	}
	cmd := exec.Command(binary, args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting %s (%s): %w", name, binary, err)
	}
	p := &process{name: name, binary: binary, args: args, cmd: cmd, logPath: logPath, logFile: logFile, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *process) pid() int { return p.cmd.Process.Pid }

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// errExitedEarly marks a component that exited before it was ready.
var errExitedEarly = errors.New("exited early")

// exitError describes an exit that nobody asked for, with the end of the log.
func (p *process) exitError() error {
	return fmt.Errorf("%s %w (%v); last lines of %s:\n%s", p.name, errExitedEarly, p.waitErr, p.logPath, p.logTail(20))
}

// stop asks the process to terminate and kills it if it has not exited
// within grace. It returns once the process is gone.
func (p *process) stop(grace time.Duration) error {
	p.stopping.Store(true)
	if p.exited() {
		return nil
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signalling %s: %w", p.name, err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
	}
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("killing %s: %w", p.name, err)
	}
	<-p.done
	return fmt.Errorf("%s did not exit within %s of SIGTERM and was %w", p.name, grace, ErrKilled)
}

// ErrKilled is in Stop's error when a component outlasted its grace period
// and was killed: stopped all the same, but not cleanly.
var ErrKilled = errors.New("killed")

// tailBytes bounds what logTail reads: an API server's log grows by
// hundreds of megabytes over a long run, and a crash is no time to load it.
const tailBytes = 64 << 10

// logTail returns the last n lines of the process log.
func (p *process) logTail(n int) string {
	data, err := readTail(p.logPath, tailBytes)
	if err != nil {
		return fmt.Sprintf("(log unreadable: %v)", err)
	}
	lines := strings.Split(string(bytes.TrimRight(data, "\n")), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  " + strings.Join(lines, "\n  ")
}

// readTail returns up to the last limit bytes of the file at path.
func readTail(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	offset := max(0, info.Size()-limit)
	buf := make([]byte, info.Size()-offset)
	n, err := f.ReadAt(buf, offset)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return buf[:n], nil
}
