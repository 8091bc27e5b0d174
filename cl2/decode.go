package cl2

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// decode reads a rendered config or module into out (a pointer to one of
// the types in types.go) as CL2 does, keys matching field names in any
// case, but strictly: a key that matches no field is an error at its line
// (CL2 would silently ignore it, and a misspelt key usually means a test
// that does not do what its author thinks). Numbers in free-form maps
// (params, templateFillMap) become float64, as CL2's JSON decoding makes
// them. lines maps a rendered line to the source's.
func decode(data []byte, out any, file string, lines func(int) int) (*yaml.Node, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlError(file, lines, err)
	}
	if root.Kind == 0 {
		return &root, nil // an empty document: a module whose steps were all left out
	}
	c := canonicalizer{file: file, lines: lines}
	c.walk(&root, reflect.TypeOf(out).Elem(), "")
	if len(c.errs) > 0 {
		return nil, joinErrors(c.errs)
	}
	if err := root.Decode(out); err != nil {
		return nil, yamlError(file, lines, err)
	}
	floatNumbers(reflect.ValueOf(out))
	return &root, nil
}

type canonicalizer struct {
	file  string
	lines func(int) int
	errs  []error
}

func (c *canonicalizer) fail(n *yaml.Node, field, msg string) {
	c.errs = append(c.errs, &Error{File: c.file, Line: c.lines(n.Line), Field: field, Msg: msg})
}

// walk renames n's mapping keys to the field names of t they match, and
// reports those that match none.
func (c *canonicalizer) walk(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind == yaml.DocumentNode {
		for _, child := range n.Content {
			c.walk(child, t, path)
		}
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, val := n.Content[i], n.Content[i+1]
			f, ok := fieldFor(t, key.Value)
			if !ok {
				c.fail(key, join(path, key.Value), fmt.Sprintf("unknown field (have %s)", strings.Join(fieldNames(t), ", ")))
				continue
			}
			name := yamlName(f)
			if seen[name] {
				c.fail(key, join(path, key.Value), fmt.Sprintf("given twice (as %s in any case)", name))
			}
			seen[name] = true
			key.Value = name
			c.walk(val, f.Type, join(path, name))
		}
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, item := range n.Content {
			c.walk(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	}
}

func fieldFor(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		if strings.EqualFold(yamlName(t.Field(i)), key) {
			return t.Field(i), true
		}
	}
	return reflect.StructField{}, false
}

func fieldNames(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		out = append(out, yamlName(t.Field(i)))
	}
	slices.Sort(out)
	return out
}

func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return name
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// floatNumbers turns the whole numbers of free-form maps into float64.
func floatNumbers(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			floatNumbers(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			floatNumbers(v.Field(i))
		}
	case reflect.Slice:
		for i := range v.Len() {
			floatNumbers(v.Index(i))
		}
	case reflect.Map:
		if v.Type().Elem().Kind() != reflect.Interface {
			return
		}
		for _, k := range v.MapKeys() {
			if n := jsonNumbers(v.MapIndex(k).Interface()); n != nil {
				v.SetMapIndex(k, reflect.ValueOf(n))
			}
		}
	}
}

// jsonNumbers is v with every int a float64, in nested maps and lists too.
func jsonNumbers(v any) any {
	switch x := v.(type) {
	case int:
		return float64(x)
	case map[string]any:
		for k, e := range x {
			x[k] = jsonNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = jsonNumbers(e)
		}
	}
	return v
}
