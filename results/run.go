package results

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Run is what one scenario run found, written as a results directory.
type Run struct {
	ID         string         `json:"id"`
	Scenario   string         `json:"scenario"`
	Parameters map[string]any `json:"parameters"`
	Cluster    Cluster        `json:"cluster"`
	Started    time.Time      `json:"started"`
	Ended      time.Time      `json:"ended"`
	// Partial marks a run that stopped before its last step: interrupted,
	// or failed. Its measurements hold what was seen until then.
	Partial bool `json:"partial"`
	// Error is why the run failed, if it did.
	Error string `json:"error,omitempty"`
	// Warnings are problems that do not change the verdict (e.g. a slow
	// cleanup after the last measurement).
	Warnings     []string      `json:"warnings,omitempty"`
	Measurements []Measurement `json:"measurements"`
	// NodeReadiness is what the run saw of its nodes going NotReady; nil
	// in results written before it was watched.
	NodeReadiness *NodeReadiness `json:"nodeReadiness,omitempty"`
	// NodeFailures are the nodes the run failed on purpose; nil when the
	// scenario fails none.
	NodeFailures *NodeFailures `json:"nodeFailures,omitempty"`
	// Files are further files to write as they are (the rendered scenario,
	// the control-plane record), by name.
	Files map[string][]byte `json:"-"`
}

// Cluster describes what the run ran against.
type Cluster struct {
	Mode          string `json:"mode"` // embedded or attached
	Server        string `json:"server"`
	ServerVersion string `json:"serverVersion"`
	Nodes         int    `json:"nodes"`       // Ready nodes when the scenario started
	HollowNodes   int    `json:"hollowNodes"` // of which this run started
	// HollowFidelity is how much of a real node's API traffic the hollow
	// nodes made (full or lean), when this run started any.
	HollowFidelity string `json:"hollowFidelity,omitempty"`
}

// Measurement is one measurement's findings and the files that hold them.
// Durations in Checks are nanoseconds.
type Measurement struct {
	Identifier string            `json:"identifier"`
	Method     string            `json:"method"`
	PerfData   string            `json:"perfData"`
	Tables     map[string]string `json:"tables,omitempty"` // table name -> file
	Checks     []Check           `json:"checks"`
	// Definitions and Notes are the summary's: absent in results written
	// before they were recorded.
	Definitions map[string]string `json:"definitions,omitempty"`
	Notes       []string          `json:"notes,omitempty"`
	Summary     *Summary          `json:"-"`
}

// Exit codes: what a CI job acts on.
const (
	ExitPassed   = 0
	ExitViolated = 1
	ExitFailed   = 2
)

// Checks are every SLO check of the run, in measurement order.
func (r *Run) Checks() []Check {
	var out []Check
	for _, m := range r.Measurements {
		out = append(out, m.Checks...)
	}
	return out
}

// Violated counts the checks that failed.
func (r *Run) Violated() int {
	n := 0
	for _, c := range r.Checks() {
		if c.Fails() {
			n++
		}
	}
	return n
}

// NotEnforced counts the checks violated but not enforced: reported, and
// changing no verdict.
func (r *Run) NotEnforced() int {
	n := 0
	for _, c := range r.Checks() {
		if c.Violated() && c.NotEnforced != "" {
			n++
		}
	}
	return n
}

// Skipped counts the checks that were not made: they change no verdict,
// and are never counted as held.
func (r *Run) Skipped() int {
	n := 0
	for _, c := range r.Checks() {
		if c.Skipped != "" {
			n++
		}
	}
	return n
}

// ExitCode is 2 when the run failed, else 1 when an SLO was violated, else 0.
func (r *Run) ExitCode() int {
	switch {
	case r.Error != "":
		return ExitFailed
	case r.Violated() > 0:
		return ExitViolated
	}
	return ExitPassed
}

// Verdict is the run's outcome in a word or three.
func (r *Run) Verdict() string {
	switch r.ExitCode() {
	case ExitFailed:
		return "ERROR (partial results)"
	case ExitViolated:
		return "FAIL"
	}
	return "PASS"
}

// Add records a measurement's findings; the summary's checks are marked
// partial on a partial run.
func (r *Run) Add(identifier, method string, s *Summary) {
	stem := r.fileStem(identifier)
	m := Measurement{Identifier: identifier, Method: method, PerfData: stem + ".json", Summary: s,
		Tables: map[string]string{}, Definitions: s.Definitions, Notes: s.Notes}
	for _, name := range slices.Sorted(maps.Keys(s.Tables)) {
		m.Tables[name] = stem + "_" + name
	}
	for _, c := range s.Checks {
		c.Partial = c.Partial || r.Partial
		// A check already named after its identifier (an unsupported
		// measurement's) needs it no second time.
		if identifier != method && !strings.HasPrefix(c.SLO, identifier) {
			c.Measurement = identifier
		}
		m.Checks = append(m.Checks, c)
	}
	r.Measurements = append(r.Measurements, m)
}

// fileStem names a measurement's files: its identifier, numbered from the
// second time a scenario gathers that identifier so no file is overwritten.
func (r *Run) fileStem(identifier string) string {
	n := 0
	for _, m := range r.Measurements {
		if m.Identifier == identifier {
			n++
		}
	}
	if n == 0 {
		return identifier
	}
	return fmt.Sprintf("%s-%d", identifier, n+1)
}

// Write creates dir and writes the results directory: run.json, summary.md,
// junit.xml, one PerfData file per measurement, its CSV tables, and Files.
func (r *Run) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating results directory: %w", err)
	}
	var errs []error
	for _, m := range r.Measurements {
		errs = append(errs, m.Summary.PerfData.Write(filepath.Join(dir, m.PerfData)))
		for name, file := range m.Tables {
			errs = append(errs, WriteCSV(filepath.Join(dir, file), m.Summary.Tables[name]))
		}
	}
	for name, data := range r.Files {
		errs = append(errs, WriteFile(filepath.Join(dir, name), data))
	}
	if nr := r.NodeReadiness; nr != nil {
		errs = append(errs, WriteCSV(filepath.Join(dir, nr.File), nr.table()))
	}
	if nf := r.NodeFailures; nf != nil {
		errs = append(errs, WriteCSV(filepath.Join(dir, nf.File), nf.table()))
	}
	errs = append(errs,
		WriteJUnit(filepath.Join(dir, "junit.xml"), "hollowmark "+r.Scenario, r.Checks(), r.Ended.Sub(r.Started)),
		WriteFile(filepath.Join(dir, SummaryFile), []byte(r.Markdown())))
	if err := errors.Join(errs...); err != nil {
		return err
	}
	// run.json goes last: readers take a directory without it for one
	// whose writing did not finish.
	doc, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding run record: %w", err)
	}
	return WriteFile(filepath.Join(dir, RunFile), append(doc, '\n'))
}

// Files of a results directory that readers look for.
const (
	RunFile     = "run.json"
	SummaryFile = "summary.md"
)

// ReadRun reads run.json from a results directory, with each
// measurement's checks and PerfData; its CSV tables are left on disk.
func ReadRun(dir string) (*Run, error) {
	data, err := os.ReadFile(filepath.Join(dir, RunFile))
	if err != nil {
		return nil, fmt.Errorf("reading run record: %w", err)
	}
	var r Run
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, RunFile), err)
	}
	for i := range r.Measurements {
		m := &r.Measurements[i]
		m.Summary = &Summary{Checks: m.Checks, Definitions: m.Definitions, Notes: m.Notes}
		path := filepath.Join(dir, m.PerfData)
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading PerfData: %w", err)
		}
		if err := json.Unmarshal(data, &m.Summary.PerfData); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return &r, nil
}
