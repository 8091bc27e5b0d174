// Command hollowmark emulates big Kubernetes clusters on small hardware and
// measures them against the Kubernetes scalability SLOs.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// version (git describe) and commit (the full hash) are set by the Makefile.
var version, commit = "dev", ""

// Exit codes a CI job can act on.
const (
	exitOK     = 0
	exitFailed = 2
)

func main() {
	// The first SIGINT/SIGTERM cancels the context; we keep catching signals
	// until teardown is done so a second Ctrl-C cannot orphan the components.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd := newRootCommand(buildInfo{version: version, commit: commit})
	if err := cmd.ExecuteContext(ctx); err != nil {
		code := exitFailed
		var exit *exitError
		if errors.As(err, &exit) {
			code = exit.code
		}
		fmt.Fprintln(os.Stderr, "error:", err)
		stop()
		os.Exit(code)
	}
	stop()
	os.Exit(exitOK)
}
