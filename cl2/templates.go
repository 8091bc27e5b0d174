package cl2

import (
	"bytes"
	"fmt"
	"io/fs"
	"maps"
	"sync"
	"text/template"

	"github.com/hollowmark/hollowmark/scenarios"
)

// objectTemplates renders object templates as CL2 does: they see the
// config's parameters (overrides, CL2_* environment, .Nodes,
// .ImageRegistry), the object's templateFillMap over them, and .BaseName,
// .Index, .Name and .Namespace.
type objectTemplates struct {
	dir     string
	rng     *lockedRand
	mapping map[string]any
	mu      sync.Mutex
	sources map[string]string // template text by name, for error lines
}

func (t *objectTemplates) Parse(fsys fs.FS, name string) (*template.Template, error) {
	src, err := readFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("reading template %s: %w", name, err)
	}
	tmpl, err := template.New(name).Funcs(funcs(fsys, t.dir, t.rng)).Parse(string(src))
	if err != nil {
		return nil, templateError(t.display(name), err)
	}
	t.mu.Lock()
	t.sources[name] = string(src)
	t.mu.Unlock()
	return tmpl, nil
}

func (t *objectTemplates) display(name string) string { return t.dir + "/" + name }

func (t *objectTemplates) Execute(tmpl *template.Template, o scenarios.Object, r scenarios.Replica) ([]byte, error) {
	data := maps.Clone(t.mapping)
	maps.Copy(data, o.Params)
	data["BaseName"] = o.Basename
	data["Index"] = int32(r.Index) // CL2's type: templates compare it with eq
	data["Name"] = r.Name
	data["Namespace"] = r.Namespace
	var out bytes.Buffer
	if err := tmpl.Execute(&out, data); err != nil {
		return nil, templateError(t.display(tmpl.Name()), err)
	}
	if bytes.Contains(out.Bytes(), []byte(missing)) {
		t.mu.Lock()
		src := t.sources[tmpl.Name()]
		t.mu.Unlock()
		if err := noValue(t.display(tmpl.Name()), src, out.String()); err != nil {
			return nil, fmt.Errorf("%s: %w", r.Name, err)
		}
	}
	return out.Bytes(), nil
}
