package results

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Markdown is the run's summary for a CI log or a pull-request comment:
// the verdict, what ran, one row per SLO check (violations first), and
// each measurement's figures with the files they come from.
func (r *Run) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s: %s\n\n", r.ID, r.Verdict())
	fmt.Fprintf(&b, "| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| scenario | %s |\n", r.Scenario)
	fmt.Fprintf(&b, "| result | %s |\n", r.outcome())
	fmt.Fprintf(&b, "| started | %s |\n", r.Started.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "| duration | %s |\n", r.Ended.Sub(r.Started).Round(time.Second))
	fmt.Fprintf(&b, "| cluster | %s, %d nodes (%d hollow nodes started by this run%s), Kubernetes %s |\n",
		r.Cluster.Mode, r.Cluster.Nodes, r.Cluster.HollowNodes, fidelityNote(r.Cluster.HollowFidelity), r.Cluster.ServerVersion)
	fmt.Fprintf(&b, "| parameters | %s |\n", formatParams(r.Parameters))
	if nf := r.NodeFailures; nf != nil {
		fmt.Fprintf(&b, "| node failures | %s (%s) |\n", nf.Line(), nf.File)
	}
	if nr := r.NodeReadiness; nr != nil {
		fmt.Fprintf(&b, "| node readiness | %s (%s) |\n", nr.Line(), nr.File)
		if len(nr.Heartbeats) > 0 {
			fmt.Fprintf(&b, "| hollow heartbeats | %s |\n", nr.heartbeatsLine())
		}
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(&b, "| warning | %s |\n", strings.ReplaceAll(w, "\n", " "))
	}
	b.WriteString("\n")
	b.WriteString("## SLO checks\n\n")
	b.WriteString(r.checksTable())
	for _, m := range r.Measurements {
		writeMeasurement(&b, m)
	}
	return b.String()
}

// VerdictTable is the verdict and the SLO checks, for the terminal.
func (r *Run) VerdictTable() string {
	out := fmt.Sprintf("%s: %s (%s)\n\n", r.ID, r.Verdict(), r.outcome())
	if nf := r.NodeFailures; nf != nil {
		out += "Node failures: " + nf.Line() + ".\n\n"
	}
	if nr := r.NodeReadiness; nr != nil {
		out += "Nodes: " + nr.Line() + ".\n\n"
		if len(nr.Heartbeats) > 0 {
			out += "Hollow heartbeats: " + nr.heartbeatsLine() + ".\n\n"
		}
		if nr.Count > 0 {
			out += "**warning**: " + nr.Warning() + ".\n\n"
		}
	}
	return out + r.checksTable()
}

// checksTable has one row per SLO check: violations, then skipped checks,
// then those that held.
func (r *Run) checksTable() string {
	checks := r.Checks()
	if len(checks) == 0 {
		return "This run made no SLO checks.\n\n"
	}
	var b strings.Builder
	b.WriteString("| SLO | threshold | p50 | p90 | p99 | samples | of threshold | result |\n|---|---|---:|---:|---:|---:|---|---|\n")
	slices.SortStableFunc(checks, func(a, b Check) int { return checkOrder(a) - checkOrder(b) })
	var warnings, few []string
	for _, c := range checks {
		if c.Skipped != "" {
			fmt.Fprintf(&b, "| %s | – | | | | | | %s |\n", c.Name(), checkResult(c))
			continue
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %d | %s | %s |\n", c.Name(), c.Limit(),
			FormatDuration(c.Measured.P50), FormatDuration(c.Measured.P90), FormatDuration(c.Measured.P99),
			c.Measured.Count, c.Closeness(), checkResult(c))
		if w := c.NoiseWarning(); w != "" {
			warnings = append(warnings, w)
		}
		if c.TooFewSamples() {
			few = append(few, c.Name())
		}
	}
	b.WriteString("\n")
	for _, w := range warnings {
		fmt.Fprintf(&b, "**warning**: %s.\n\n", w)
	}
	if len(few) > 0 {
		fmt.Fprintf(&b, "Too few samples to bound the percentile from above (a p99 needs about 370), so held on the figure alone "+
			"(\"?\" above): %s.\n\n", strings.Join(few, ", "))
	}
	return b.String()
}

func (r *Run) outcome() string {
	made := len(r.Checks()) - r.Skipped()
	reported := r.NotEnforced()
	out := fmt.Sprintf("all %d SLO checks held", made)
	switch {
	case r.Error != "":
		return "the run failed, results are partial: " + strings.ReplaceAll(r.Error, "\n", " ")
	case r.Violated() > 0:
		out = fmt.Sprintf("%d of %d SLO checks violated", r.Violated(), made)
	case reported > 0:
		out = fmt.Sprintf("%d of %d SLO checks held", made-reported, made)
	}
	if reported > 0 {
		out += fmt.Sprintf(", %d violated but not enforced", reported)
	}
	if n := r.Skipped(); n > 0 {
		out += fmt.Sprintf(", %d skipped (not supported)", n)
	}
	return out
}

// checkOrder puts violations first, then those not enforced, then
// skipped checks.
func checkOrder(c Check) int {
	switch {
	case c.Fails():
		return 0
	case c.Violated() && c.Skipped == "":
		return 1
	case c.Skipped != "":
		return 2
	}
	return 3
}

func checkResult(c Check) string {
	out := "pass"
	if len(c.WithinNoise()) > 0 {
		out = "pass (within noise)"
	}
	switch {
	case c.Skipped != "":
		out = "skipped: " + c.Skipped
	case !c.Passed() && c.NotEnforced != "":
		out = "violated, not enforced (" + c.NotEnforced + ")"
	case c.Measured.Count == 0:
		out = "**FAIL** (no samples)"
	case !c.Passed() && len(c.WithinNoise()) > 0:
		out = "**FAIL** (within noise)"
	case !c.Passed():
		out = "**FAIL**"
	}
	if c.Partial {
		out += " (partial)"
	}
	return out
}

// FormatDuration shows a latency to the microsecond; the exact value is in
// run.json.
func FormatDuration(d time.Duration) string {
	return d.Round(time.Microsecond).String()
}

func formatParams(p map[string]any) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(p)) {
		parts = append(parts, fmt.Sprintf("%s=%v", k, p[k]))
	}
	return strings.Join(parts, ", ")
}

// writeMeasurement renders a measurement's PerfData as a table: one row per
// data item, its labels then its values.
func writeMeasurement(b *strings.Builder, m Measurement) {
	fmt.Fprintf(b, "## %s (%s)\n\n", m.Identifier, m.Method)
	t := NewDataTable(m.Summary.PerfData.DataItems)
	if len(t.Rows) == 0 {
		b.WriteString("No data.\n\n")
	} else {
		b.WriteString("| " + strings.Join(t.Header(), " | ") + " |\n")
		b.WriteString(strings.Repeat("|---", len(t.Labels)) + strings.Repeat("|---:", len(t.Values)) + "|---|\n")
		for _, row := range t.Rows {
			b.WriteString("| " + strings.Join(row, " | ") + " |\n")
		}
		b.WriteString("\n")
	}
	for _, n := range m.Notes {
		b.WriteString(n + "\n\n")
	}
	files := []string{m.PerfData}
	for _, name := range slices.Sorted(maps.Keys(m.Tables)) {
		files = append(files, m.Tables[name])
	}
	fmt.Fprintf(b, "Raw data: %s\n\n", strings.Join(files, ", "))
}

// DataTable is PerfData items as a table: label columns (Metric first),
// value columns (percentiles first) to three decimals, then the unit.
type DataTable struct {
	Labels, Values []string
	Rows           [][]string
}

// Header names the table's columns.
func (t DataTable) Header() []string {
	return append(append(slices.Clone(t.Labels), t.Values...), "unit")
}

// NewDataTable lays items out as a table.
func NewDataTable(items []DataItem) DataTable {
	t := DataTable{}
	t.Labels, t.Values = columns(items)
	for _, it := range items {
		var row []string
		for _, l := range t.Labels {
			row = append(row, it.Labels[l])
		}
		for _, v := range t.Values {
			cell := ""
			if x, ok := it.Data[v]; ok {
				cell = strconv.FormatFloat(x, 'f', 3, 64)
			}
			row = append(row, cell)
		}
		t.Rows = append(t.Rows, append(row, it.Unit))
	}
	return t
}

// columns are the label keys (Metric first) and data keys (percentiles
// first) of items.
func columns(items []DataItem) (labels, values []string) {
	ls, vs := map[string]bool{}, map[string]bool{}
	for _, it := range items {
		for k := range it.Labels {
			ls[k] = true
		}
		for k := range it.Data {
			vs[k] = true
		}
	}
	first := func(set map[string]bool, order ...string) []string {
		var out []string
		for _, k := range order {
			if set[k] {
				out = append(out, k)
				delete(set, k)
			}
		}
		return append(out, slices.Sorted(maps.Keys(set))...)
	}
	return first(ls, "Metric"), first(vs, "Perc50", "Perc90", "Perc99", "Max")
}

func fidelityNote(f string) string {
	if f == "" {
		return ""
	}
	return ", " + f + " fidelity"
}
