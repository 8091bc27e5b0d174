package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hollowmark/hollowmark/internal/requestmix"
)

// report is what a reference run found: the expected rows measured on the
// real kubelet and (when HaveHollow) on a hollow node.
type report struct {
	Pods                       int
	Idle                       time.Duration
	Real, Hollow               requestmix.Phases
	RealResults, HollowResults []requestmix.Result
	HaveHollow                 bool
	RealTook, HollowTook       time.Duration
}

func within(r requestmix.Result) string {
	if r.OK() {
		return "yes"
	}
	return "**no**"
}

// markdown renders the table, the totals per pod and the requests of each
// phase that no row expects.
func (r report) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Real kubelet v1.36.3 (one node, %d pods, %s idle) against docs/fidelity.md's expected table", r.Pods, r.Idle)
	if r.HaveHollow {
		b.WriteString(", and one full-fidelity hollow node on the same workload")
	}
	b.WriteString(".\n\n| phase | request | expected | real kubelet | within |")
	if r.HaveHollow {
		b.WriteString(" hollow | within |")
	}
	b.WriteString("\n|---|---|---:|---:|---|")
	if r.HaveHollow {
		b.WriteString("---:|---|")
	}
	b.WriteString("\n")
	for i, e := range r.RealResults {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s (±%.0f%%) |", e.Phase, e.Request, num(e.Want), num(e.Got), within(e), e.Tolerance*100)
		if r.HaveHollow {
			h := r.HollowResults[i]
			fmt.Fprintf(&b, " %s | %s |", num(h.Got), within(h))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "\nAll requests per pod start (but the workload's own): real kubelet %.1f", requestmix.PerPod(r.Real.Start, r.Real.Pods))
	if r.HaveHollow && r.Hollow.Pods > 0 {
		fmt.Fprintf(&b, ", hollow %.1f", requestmix.PerPod(r.Hollow.Start, r.Hollow.Pods))
	}
	fmt.Fprintf(&b, "; per pod deletion: real kubelet %.1f", requestmix.PerPod(r.Real.Delete, r.Real.Pods))
	if r.HaveHollow && r.Hollow.Pods > 0 {
		fmt.Fprintf(&b, ", hollow %.1f", requestmix.PerPod(r.Hollow.Delete, r.Hollow.Pods))
	}
	b.WriteString(".\n")

	expected := map[string]bool{}
	for _, e := range r.RealResults {
		expected[e.Phase+"|"+e.Request] = true
	}
	fmt.Fprintf(&b, "\nRequests no row expects (|value| >= 0.05 per unit; the workload's own and the control plane's included):\n\n| phase | request | real kubelet |")
	if r.HaveHollow && r.Hollow.Pods > 0 {
		b.WriteString(" hollow |")
	}
	b.WriteString("\n|---|---|---:|")
	if r.HaveHollow && r.Hollow.Pods > 0 {
		b.WriteString("---:|")
	}
	b.WriteString("\n")
	for _, row := range extraRows(r.Real, expected) {
		fmt.Fprintf(&b, "| %s | %s | %s |", row.phase, row.request, num(row.value))
		if r.HaveHollow && r.Hollow.Pods > 0 {
			v, _ := r.Hollow.Measured(row.phase, row.request)
			fmt.Fprintf(&b, " %s |", num(v))
		}
		b.WriteString("\n")
	}
	if r.HaveHollow && r.Hollow.Pods > 0 {
		seen := map[string]bool{}
		for _, row := range extraRows(r.Real, expected) {
			seen[row.phase+"|"+row.request] = true
		}
		for _, row := range extraRows(r.Hollow, expected) {
			if !seen[row.phase+"|"+row.request] {
				v, _ := r.Real.Measured(row.phase, row.request)
				fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", row.phase, row.request, num(v), num(row.value))
			}
		}
	}
	fmt.Fprintf(&b, "\nMeasured in %s (real kubelet)", r.RealTook.Round(time.Second))
	if r.HollowTook > 0 {
		fmt.Fprintf(&b, " and %s (hollow, concurrently)", r.HollowTook.Round(time.Second))
	}
	b.WriteString(".\n")
	return b.String()
}

type extraRow struct {
	phase, request string
	value          float64
}

// phaseNames are the request phases of the expected table, in its order.
var phaseNames = []string{"registration, per node", "idle, per node per minute", "pod start, per pod", "pod deletion, per pod"}

// extraRows are the requests of each phase that no expected row names,
// per the phase's unit, largest first within a phase.
func extraRows(p requestmix.Phases, expected map[string]bool) []extraRow {
	var out []extraRow
	for _, phase := range phaseNames {
		var d requestmix.Delta
		switch phase {
		case "registration, per node":
			d = p.Register
		case "idle, per node per minute":
			d = p.Idle
		case "pod start, per pod":
			d = p.Start
		case "pod deletion, per pod":
			d = p.Delete
		}
		var rows []extraRow
		for req := range d.Requests {
			if expected[phase+"|"+req] || strings.HasPrefix(req, "WATCH ") {
				continue
			}
			v, err := p.Measured(phase, req)
			if err != nil || math.Abs(v) < 0.05 {
				continue
			}
			rows = append(rows, extraRow{phase, req, v})
		}
		slices.SortFunc(rows, func(a, b extraRow) int {
			if a.value != b.value {
				if a.value > b.value {
					return -1
				}
				return 1
			}
			return strings.Compare(a.request, b.request)
		})
		out = append(out, rows...)
	}
	return out
}

func num(v float64) string { return strconv.FormatFloat(v, 'g', 3, 64) }

// write stores table.md, table.csv and phases.json (every request count of
// every phase) in dir.
func (r report) write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating results directory: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "table.md"), []byte(r.markdown()), 0o644); err != nil {
		return fmt.Errorf("writing table.md: %w", err)
	}
	f, err := os.Create(filepath.Join(dir, "table.csv"))
	if err != nil {
		return fmt.Errorf("writing table.csv: %w", err)
	}
	w := csv.NewWriter(f)
	header := []string{"phase", "request", "expected", "tolerance", "real", "real_within"}
	if r.HaveHollow {
		header = append(header, "hollow", "hollow_within")
	}
	w.Write(header)
	for i, e := range r.RealResults {
		rec := []string{e.Phase, e.Request, fmt.Sprint(e.Want), fmt.Sprint(e.Tolerance), fmt.Sprint(e.Got), fmt.Sprint(e.OK())}
		if r.HaveHollow {
			h := r.HollowResults[i]
			rec = append(rec, fmt.Sprint(h.Got), fmt.Sprint(h.OK()))
		}
		w.Write(rec)
	}
	w.Flush()
	if err := firstErr(w.Error(), f.Close()); err != nil {
		return fmt.Errorf("writing table.csv: %w", err)
	}
	raw := map[string]requestmix.Phases{"real": r.Real}
	if r.HaveHollow && r.Hollow.Pods > 0 {
		raw["hollow"] = r.Hollow
	}
	data, err := json.MarshalIndent(raw, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding phases.json: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "phases.json"), data, 0o644); err != nil {
		return fmt.Errorf("writing phases.json: %w", err)
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// readColumn reads one column of a table.csv, keyed "phase|request".
func readColumn(path, column string) (map[string]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	defer f.Close()
	records, err := csv.NewReader(f).ReadAll()
	if err != nil || len(records) == 0 {
		return nil, fmt.Errorf("reading %s: %v", path, err)
	}
	col := slices.Index(records[0], column)
	if col < 0 {
		return nil, fmt.Errorf("%s has no column %q", path, column)
	}
	out := map[string]float64{}
	for _, rec := range records[1:] {
		v, err := strconv.ParseFloat(rec[col], 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %s %s: %w", path, rec[0], rec[1], err)
		}
		out[rec[0]+"|"+rec[1]] = v
	}
	return out, nil
}
