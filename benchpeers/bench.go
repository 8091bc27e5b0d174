// Package benchpeers runs hollowmark and KWOK side by side on identical
// control planes and compares them: nodes to Ready, idle cost, watches
// held, pods to Running and to gone, node NotReady transitions, with
// per-second timelines of where the pod run's time goes.
//
// Each run starts a fresh embedded control plane (the same binaries and
// flags for both emulators), then the emulator as a child process, so
// that both are measured the same way from /proc/<pid>. Repeats are
// interleaved (hollowmark, KWOK, hollowmark, KWOK, ...) so that a drift of
// the machine over time falls on both. The table gives each row's median
// and range per emulator, the ratio of the medians, and calls a difference
// noise when the ranges overlap.
package benchpeers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"go.uber.org/zap"
)

// Report is what a benchmark measured.
type Report struct {
	Runs      []RunResult
	Summaries []Summary
	// Table is the summary as Markdown, with the facts of the benchmark
	// above it.
	Table string
	// Interrupted is set when the context ended before every run was done.
	Interrupted bool
}

// Failed is the runs that did not finish for a reason other than an
// interruption.
func (r Report) Failed() []RunResult {
	var out []RunResult
	for _, run := range r.Runs {
		if run.Partial && run.Err != "interrupted" {
			out = append(out, run)
		}
	}
	return out
}

// planned is one run to do.
type planned struct {
	emulator string
	repeat   int
}

// schedule interleaves the emulators' repeats: each repeat runs every
// emulator once, in the order given.
func schedule(emulators []string, repeats int) []planned {
	var out []planned
	for r := 1; r <= repeats; r++ {
		for _, e := range emulators {
			out = append(out, planned{e, r})
		}
	}
	return out
}

// Bench runs the benchmark. The results are rewritten after every run, so
// that what was measured survives an interruption or a crash; a run that
// fails is recorded as partial and the next one starts. It returns an
// error only for bad options or results that cannot be written.
func Bench(ctx context.Context, o Options) (Report, error) {
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if err := o.Validate(); err != nil {
		return Report{}, err
	}
	for _, dir := range []string{o.OutDir, o.RunDir} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return Report{}, fmt.Errorf("creating %s: %w", dir, err)
		}
	}
	facts := o.facts(ctx)
	for _, f := range facts {
		o.Logger.Info(f)
	}
	var rep Report
	plan := schedule(o.Emulators, o.Repeats)
	for i, p := range plan {
		if ctx.Err() != nil {
			rep.Interrupted = true
			break
		}
		id := fmt.Sprintf("%d-%s", i+1, p.emulator)
		label := fmt.Sprintf("run %d of %d (%s, repeat %d of %d)", i+1, len(plan), p.emulator, p.repeat, o.Repeats)
		run := runOne(ctx, o, id, p.emulator, p.repeat, label)
		rep.Runs = append(rep.Runs, run)
		if err := rep.write(o, facts); err != nil {
			return rep, err
		}
	}
	rep.Interrupted = rep.Interrupted || ctx.Err() != nil
	return rep, nil
}

// write computes the summary of the runs so far and writes every result
// file.
func (rep *Report) write(o Options, facts []string) error {
	rep.Summaries = Summarize(rep.Runs, o.Emulators)
	var b strings.Builder
	for _, f := range facts {
		b.WriteString("- " + f + "\n")
	}
	if partial := partialRuns(rep.Runs); partial != "" {
		b.WriteString("- partial runs (their missing rows are left out): " + partial + "\n")
	}
	for _, run := range rep.Runs {
		if n := podRunTransitions(run.NotReady); len(n) > 0 {
			fmt.Fprintf(&b, "- %s: %d node NotReady transitions in the pod run: %s (all in %s)\n", run.ID, len(n), nodeNames(n, 10), NotReadyCSV)
		}
	}
	b.WriteString("\n" + Table(rep.Summaries, o.Emulators))
	rep.Table = b.String()
	out := o.OutDir
	var errs []error
	for _, w := range []func() error{
		func() error { return writeRunsCSV(filepath.Join(out, RunsCSV), rep.Runs) },
		func() error { return writeSummaryCSV(filepath.Join(out, SummaryCSV), rep.Summaries, o.Emulators) },
		func() error { return writeNotReadyCSV(filepath.Join(out, NotReadyCSV), rep.Runs) },
		func() error { return os.WriteFile(filepath.Join(out, SummaryMD), []byte(rep.Table), 0o644) },
	} {
		errs = append(errs, w())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("writing results to %s: %w", out, err)
	}
	// A plot that cannot be drawn (no run measured anything yet) is not a
	// reason to stop the benchmark.
	if err := drawSummary(filepath.Join(out, SummaryPNG), rep.Runs, o.Emulators); err != nil {
		o.Logger.Warn("drawing the summary", zap.Error(err))
	}
	return nil
}

func partialRuns(runs []RunResult) string {
	var out []string
	for _, r := range runs {
		if r.Partial {
			out = append(out, fmt.Sprintf("%s (%s)", r.ID, firstLine(r.Err)))
		}
	}
	return strings.Join(out, ", ")
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// facts are what the table's figures depend on: scale, repeats, the
// binaries' versions, the control plane's options.
func (o Options) facts(ctx context.Context) []string {
	fsync := "on"
	if o.EtcdUnsafeNoFsync {
		fsync = "off (--etcd-unsafe-no-fsync)"
	}
	out := []string{
		fmt.Sprintf("%d nodes, %d pods in %d Deployments, %d repeats of %s, interleaved", o.Nodes, o.Pods,
			len(replicas(o.Pods)), o.Repeats, strings.Join(o.Emulators, ", ")),
		fmt.Sprintf("idle: %s to settle, then %s measured; timeline every %s", o.Settle, o.Idle, o.Interval),
		fmt.Sprintf("control plane: a fresh one per run from %s, etcd fsync %s", o.BinDir, fsync),
	}
	for _, e := range o.Emulators {
		bin, arg := hollowmarkBinary, "version"
		if e == KWOK {
			bin, arg = kwokBinary, "--version"
		}
		v, err := exec.CommandContext(ctx, filepath.Join(o.BinDir, bin), arg).CombinedOutput()
		version := strings.Join(strings.Fields(firstLine(string(v))), " ")
		if err != nil {
			version = fmt.Sprintf("version unknown (%v)", err)
		}
		out = append(out, fmt.Sprintf("%s: %s", e, version))
	}
	return out
}
