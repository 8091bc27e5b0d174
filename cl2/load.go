// Package cl2 reads ClusterLoader2 test configs (with their overrides,
// modules and object templates) and translates them into our scenario
// model, so that the one runner runs both. What maps to what, and what
// differs, is in docs/cl2.md.
package cl2

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"text/template"

	"go.yaml.in/yaml/v3"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/hollowmark/hollowmark/scenarios"
)

// DefaultImageRegistry is .ImageRegistry unless Options say otherwise, as
// CL2's --registry-k8s-repo.
const DefaultImageRegistry = "registry.k8s.io"

// Options are what a run gives a config beside its file.
type Options struct {
	// Overrides are --testoverrides files, applied in order (a later file
	// wins).
	Overrides []string
	// Params are --param k=v overrides, read as CL2 reads CL2_* variables,
	// after the files.
	Params map[string]string
	// Env is the environment (os.Environ()); its CL2_* variables are
	// parameters too, and may not contradict the overrides.
	Env []string
	// Nodes is .Nodes: the cluster's Ready nodes.
	Nodes int
	// ImageRegistry is .ImageRegistry; empty means DefaultImageRegistry.
	ImageRegistry string
	// Seed seeds the random template functions (RandIntRange, …).
	Seed uint64
}

// Load reads the CL2 config at file and translates it into a validated
// scenario.
func Load(file string, opts Options) (*scenarios.Scenario, error) {
	mapping, err := Mapping(opts)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(file)
	r := &reader{fsys: dirFS(dir), dir: dir, display: file, rng: newLockedRand(opts.Seed), mapping: mapping}
	var cfg config
	at, err := r.read(filepath.Base(file), mapping, &cfg)
	if err != nil {
		return nil, err
	}
	steps, err := r.flatten(cfg.Steps, at, 0)
	if err != nil {
		return nil, err
	}
	return r.translate(&cfg, at, steps)
}

// reader reads a config and the modules it includes.
type reader struct {
	fsys    fs.FS
	dir     string
	display string // the config's path as given
	rng     *lockedRand
	mapping map[string]any
	// rendered is every file as rendered, for the results.
	rendered bytes.Buffer
	warnings []string
}

// origin is where something was written: a file, its YAML, and the path
// to the thing in it.
type origin struct {
	file  string
	root  *yaml.Node
	lines func(int) int
	path  []any
}

func (o origin) at(sub ...any) origin {
	o.path = append(append([]any{}, o.path...), sub...)
	return o
}

// where is the file and line of a field below the origin.
func (o origin) where(sub ...any) (string, int) {
	return o.file, o.lines(scenarios.LineOf(o.root, append(append([]any{}, o.path...), sub...)...))
}

func (o origin) fail(msg string, sub ...any) error {
	file, line := o.where(sub...)
	return &Error{File: file, Line: line, Field: fieldPath(append(append([]any{}, o.path...), sub...)), Msg: msg}
}

func fieldPath(p []any) string {
	var b strings.Builder
	for _, e := range p {
		switch e := e.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", e)
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			fmt.Fprint(&b, e)
		}
	}
	return b.String()
}

// read renders the template at name with data and decodes it into out.
func (r *reader) read(name string, data map[string]any, out any) (origin, error) {
	display := filepath.Join(r.dir, name)
	if path.Clean(name) == filepath.Base(r.display) {
		display = r.display
	}
	src, err := readFile(r.fsys, name)
	if err != nil {
		return origin{}, fmt.Errorf("reading %s: %w", display, err)
	}
	rendered, err := render(r.fsys, r.dir, r.rng, display, string(src), data)
	if err != nil {
		return origin{}, err
	}
	// A config may print a parameter nobody set where nothing reads it
	// (upstream's load test does, in a module's templateFillMap): said, not
	// refused. Object templates are stricter (see objectTemplates).
	if err := noValue(display, string(src), rendered); err != nil {
		r.warnings = append(r.warnings, strings.Split(err.Error(), "\n")...)
	}
	fmt.Fprintf(&r.rendered, "# %s, rendered\n%s\n---\n", name, rendered)
	lines := newSourceLines(string(src), rendered).line
	root, err := decode([]byte(rendered), out, display, lines)
	if err != nil {
		return origin{}, err
	}
	return origin{file: display, root: root, lines: lines}, nil
}

// render executes a CL2 template. A parameter that is not set is nil to
// the template (DefaultParam relies on it), and prints as "<no value>".
func render(fsys fs.FS, dir string, rng *lockedRand, display, src string, data map[string]any) (string, error) {
	t, err := template.New(display).Funcs(funcs(fsys, dir, rng)).Parse(src)
	if err != nil {
		return "", templateError(display, err)
	}
	var out bytes.Buffer
	if err := t.Execute(&out, data); err != nil {
		return "", templateError(display, err)
	}
	return out.String(), nil
}

const missing = "<no value>"

// noValue finds the lines where a template printed a field with no value,
// one error per line.
func noValue(display, src, rendered string) error {
	lines := newSourceLines(src, rendered)
	var errs []error
	for i, l := range strings.Split(rendered, "\n") {
		if !strings.Contains(uncommented(l), missing) {
			continue
		}
		n := lines.line(i + 1)
		msg := "a template field has no value"
		if srcLines := strings.Split(src, "\n"); n <= len(srcLines) {
			if fields := actionRE.FindAllString(srcLines[n-1], -1); len(fields) > 0 {
				msg = fmt.Sprintf("%s has no value (set it in the config, the module's params, an overrides file or CL2_ environment)", strings.Join(fields, ", "))
			}
		}
		errs = append(errs, &Error{File: display, Line: n, Msg: msg})
	}
	return errors.Join(errs...)
}

// uncommented is a YAML line without its comment (roughly: from a '#' at
// the start or after a blank).
func uncommented(l string) string {
	if strings.HasPrefix(strings.TrimSpace(l), "#") {
		return ""
	}
	if i := strings.Index(l, " #"); i >= 0 {
		return l[:i]
	}
	return l
}

// maxModuleDepth bounds modules including modules, against a cycle.
const maxModuleDepth = 16

// flatStep is a step of phases or measurements, wherever it was written.
type flatStep struct {
	step
	at origin
}

// flatten replaces module steps with the steps of their modules, as CL2
// does: a module is rendered with the config's parameters and the
// module's params over them.
func (r *reader) flatten(steps []step, at origin, depth int) ([]flatStep, error) {
	var out []flatStep
	for i, st := range steps {
		here := at.at("steps", i)
		if st.Module.Path == "" {
			out = append(out, flatStep{st, here})
			continue
		}
		if len(st.Phases) > 0 || len(st.Measurements) > 0 {
			return nil, here.fail("a step is a module, phases or measurements, not several")
		}
		if depth >= maxModuleDepth {
			return nil, here.fail(fmt.Sprintf("modules nested more than %d deep (a module including itself?)", maxModuleDepth), "module", "path")
		}
		data := maps.Clone(r.mapping)
		maps.Copy(data, st.Module.Params)
		var m module
		mat, err := r.read(strings.TrimPrefix(path.Clean(st.Module.Path), "/"), data, &m)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				return nil, here.fail(fmt.Sprintf("module %q not found in %s", st.Module.Path, r.dir), "module", "path")
			}
			return nil, err
		}
		sub, err := r.flatten(m.Steps, mat, depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, sub...)
	}
	return out, nil
}

// Mapping is what a config's templates see: the overrides files, then
// --param, then .Nodes and .ImageRegistry, then the CL2_* environment, as
// CL2's GetMapping builds it.
func Mapping(opts Options) (map[string]any, error) {
	m := map[string]any{}
	for _, f := range opts.Overrides {
		data, err := readPath(f)
		if err != nil {
			return nil, fmt.Errorf("reading test overrides: %w", err)
		}
		var o map[string]any
		if err := sigsyaml.Unmarshal(data, &o); err != nil {
			return nil, fmt.Errorf("%s: test overrides: %w", f, err)
		}
		maps.Copy(m, o)
	}
	for k, v := range opts.Params {
		m[k] = unpack(v)
	}
	m["Nodes"] = opts.Nodes
	m["ImageRegistry"] = DefaultImageRegistry
	if opts.ImageRegistry != "" {
		m["ImageRegistry"] = opts.ImageRegistry
	}
	for _, kv := range opts.Env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(k, "CL2_") {
			continue
		}
		val := unpack(v)
		if old, set := m[k]; set && !same(old, val) {
			return nil, fmt.Errorf("environment %s=%s contradicts the overrides' %s: %v", k, v, k, old)
		}
		m[k] = val
	}
	return m, nil
}

// same says whether two parameter values agree; numbers agree by value
// (CL2 compares types too, refusing 8 from a file beside CL2_X=8).
func same(a, b any) bool {
	x, errA := number(a)
	y, errB := number(b)
	if errA == nil && errB == nil {
		return x == y
	}
	return reflect.DeepEqual(a, b)
}

// unpack reads a CL2_* value: a whole number, a number, a bool or a string.
func unpack(s string) any {
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return v
	}
	if v, err := strconv.ParseFloat(s, 64); err == nil {
		return v
	}
	if v, err := strconv.ParseBool(s); err == nil {
		return v
	}
	return s
}

// dirFS opens paths below a directory as CL2's basepathFS does: a leading
// "/" means the config's directory, and ".." may leave it (upstream
// configs include modules of sibling tests that way).
type dirFS string

func (d dirFS) Open(name string) (fs.File, error) {
	return os.Open(filepath.Join(string(d), filepath.FromSlash(name)))
}
