package scenarios

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"

	"go.yaml.in/yaml/v3"

	"github.com/hollowmark/hollowmark/internal/boundedtemplate"
	"github.com/hollowmark/hollowmark/loadgen"
)

// Error is a problem in a scenario file, at a line, in a field.
type Error struct {
	File  string
	Line  int
	Field string // e.g. steps[2].phases[0].tuningSet
	Msg   string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Field, e.Msg)
}

// templateAction matches a Go-template action, for reading the parameter
// defaults before the template can be rendered.
var templateAction = regexp.MustCompile(`\{\{.*?\}\}`)

// Load reads the scenario at name in fsys: it takes the parameter defaults
// from the file, applies overrides, renders the file as a Go template with
// them, then decodes it strictly (unknown fields are errors) and validates.
func Load(fsys fs.FS, name string, overrides map[string]string) (*Scenario, error) {
	return load(fsys, name, name, overrides)
}

// LoadFile reads a scenario file from disk; object templates are resolved
// beside it, and errors name path as given.
func LoadFile(path string, overrides map[string]string) (*Scenario, error) {
	s, err := load(os.DirFS(filepath.Dir(path)), filepath.Base(path), path, overrides)
	if s != nil {
		s.Dir = filepath.Dir(path)
	}
	return s, err
}

// MaxFileSize bounds a scenario file and an object template: the largest
// is a few kilobytes, and what is read is held several times over while
// it is rendered and decoded.
const MaxFileSize = 1 << 20

// readFile reads a regular file of at most MaxFileSize. Anything else (a
// device such as /dev/zero, a FIFO that would block, a directory) is
// refused before it is opened.
func readFile(fsys fs.FS, name string) ([]byte, error) {
	info, err := fs.Stat(fsys, name)
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file (%s)", fileType(info.Mode()))
	}
	if info.Size() > MaxFileSize {
		return nil, fmt.Errorf("%d bytes, more than the %d a scenario file or template may have", info.Size(), MaxFileSize)
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(src) > MaxFileSize { // it grew since the Stat
		return nil, fmt.Errorf("more than the %d bytes a scenario file or template may have", MaxFileSize)
	}
	return src, nil
}

func fileType(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return m.Type().String()
}

// load reads name from fsys and reports errors against display.
func load(fsys fs.FS, name, display string, overrides map[string]string) (*Scenario, error) {
	src, err := readFile(fsys, name)
	if err != nil {
		return nil, &Error{File: display, Line: 1, Msg: err.Error()}
	}
	// Template syntax first: an unclosed action would otherwise surface as
	// a confusing YAML error from the parameter pass.
	tmpl, err := boundedtemplate.Parse(name, string(src), funcs)
	if err != nil {
		return nil, templateError(display, err)
	}
	params, err := parameters(display, src, overrides)
	if err != nil {
		return nil, err
	}
	rendered, err := boundedtemplate.Execute(tmpl, params, boundedtemplate.DefaultLimits)
	if err != nil {
		return nil, templateError(display, err)
	}
	s := &Scenario{File: name, FS: fsys, Rendered: rendered}
	if err := decode(display, rendered, s); err != nil {
		return nil, err
	}
	s.Parameters = params
	var root yaml.Node
	if err := yaml.Unmarshal(rendered, &root); err != nil {
		return nil, yamlError(display, err)
	}
	if err := s.validate(YAMLLocator(display, &root), fsys); err != nil {
		return nil, err
	}
	return s, nil
}

// decode decodes the one YAML document of rendered into s strictly
// (unknown fields are errors).
func decode(display string, rendered []byte, s *Scenario) error {
	dec := yaml.NewDecoder(bytes.NewReader(rendered))
	dec.KnownFields(true)
	if err := dec.Decode(s); errors.Is(err, io.EOF) {
		return &Error{File: display, Line: 1, Msg: "the scenario is empty"}
	} else if err != nil {
		return yamlError(display, err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
		return nil
	case err != nil:
		return yamlError(display, err)
	}
	return &Error{File: display, Line: max(next.Line, 1), Msg: "a second YAML document: a scenario file holds one"}
}

// parameters are the file's defaults with the overrides applied. Overrides
// must name declared parameters and keep their type.
func parameters(file string, src []byte, overrides map[string]string) (map[string]any, error) {
	var head struct {
		Parameters map[string]any `yaml:"parameters"`
	}
	plain := templateAction.ReplaceAllString(string(src), "0")
	if err := yaml.Unmarshal([]byte(plain), &head); err != nil {
		return nil, yamlError(file, err)
	}
	params := map[string]any{}
	for k, v := range head.Parameters {
		params[k] = v
	}
	for k, raw := range overrides {
		def, ok := params[k]
		if !ok {
			return nil, &Error{File: file, Line: 1, Field: "parameters", Msg: fmt.Sprintf("--param %s: no such parameter (have %s)", k, keys(params))}
		}
		v, err := convert(def, raw)
		if err != nil {
			return nil, &Error{File: file, Line: 1, Field: "parameters." + k, Msg: fmt.Sprintf("--param %s=%s: %v", k, raw, err)}
		}
		params[k] = v
	}
	return params, nil
}

func convert(like any, raw string) (any, error) {
	switch like.(type) {
	case int:
		return strconv.Atoi(raw)
	case float64:
		return strconv.ParseFloat(raw, 64)
	case bool:
		return strconv.ParseBool(raw)
	}
	return raw, nil
}

func keys(m map[string]any) string {
	return strings.Join(slices.Sorted(maps.Keys(m)), ", ")
}

var yamlLine = regexp.MustCompile(`line (\d+): (.*)`)

// yamlError turns the YAML library's errors into file:line errors.
func yamlError(file string, err error) error {
	var te *yaml.TypeError
	msgs := []string{err.Error()}
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	var out []error
	for _, m := range msgs {
		if g := yamlLine.FindStringSubmatch(m); g != nil {
			line, _ := strconv.Atoi(g[1])
			out = append(out, &Error{File: file, Line: line, Msg: strings.TrimPrefix(g[2], "yaml: ")})
		} else {
			out = append(out, &Error{File: file, Line: 1, Msg: strings.TrimPrefix(m, "yaml: ")})
		}
	}
	return errors.Join(out...)
}

var templateLine = regexp.MustCompile(`^template: [^:]+:(\d+):(?:\d+:)? (.*)$`)

func templateError(file string, err error) error {
	if g := templateLine.FindStringSubmatch(err.Error()); g != nil {
		line, _ := strconv.Atoi(g[1])
		return &Error{File: file, Line: line, Msg: g[2]}
	}
	return &Error{File: file, Line: 1, Msg: err.Error()}
}

// arithmetic is what scenario files and object templates need for derived
// values, e.g. {{MaxInt 1 (DivideInt .nodes 100)}}.
var arithmetic = template.FuncMap{
	"AddInt":      func(a, b int) int { return a + b },
	"SubtractInt": func(a, b int) int { return a - b },
	"MultiplyInt": func(a, b int) int { return a * b },
	"DivideInt": func(a, b int) (int, error) {
		if b == 0 {
			return 0, errors.New("DivideInt by zero")
		}
		return a / b, nil
	},
	"ModInt": func(a, b int) (int, error) {
		if b == 0 {
			return 0, errors.New("ModInt by zero")
		}
		return a % b, nil
	},
	"MaxInt": func(a, b int) int { return max(a, b) },
	"MinInt": func(a, b int) int { return min(a, b) },
}

// funcs are arithmetic, and the functions drawn per object when an object
// template is rendered (RandIntRange, from the run's seed): a scenario
// file that calls those fails to render, having no object to draw for.
var funcs = func() template.FuncMap {
	out := maps.Clone(arithmetic)
	maps.Copy(out, loadgen.ParseFuncs())
	return out
}()
