package boundedtemplate

import (
	"strings"
	"testing"
	"text/template"
	"time"
)

var small = Limits{Output: 1 << 10, Steps: 10_000, Timeout: time.Minute}

func TestExecuteWithinBounds(t *testing.T) {
	tests := []struct {
		name, src string
		data      any
		want      string
	}{
		{"plain", "kind: {{.kind}}", map[string]any{"kind": "ConfigMap"}, "kind: ConfigMap"},
		{"range over a count", "{{range 3}}x{{end}}", nil, "xxx"},
		{"range over a slice with index", "{{range $i, $v := .}}{{$i}}{{$v}} {{end}}", []string{"a", "b"}, "0a 1b "},
		{"range with else", "{{range .}}x{{else}}none{{end}}", []int{}, "none"},
		{"bounded builtins", `{{printf "%03d" 7}} {{print "a" 1}} {{html "<"}} {{js "'"}} {{urlquery "a b"}}`, nil, `007 a1 &lt; \' a+b`},
		{"nested ranges within the budget", "{{range 10}}{{range 10}}.{{end}}{{end}}", nil, strings.Repeat(".", 100)},
		{"comments only", "{{/* nothing */}}", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl, err := Parse("t", tt.src, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Execute(tmpl, tt.data, small)
			if err != nil || string(got) != tt.want {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestExecuteRefusesUnboundedWork(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"range over a huge count", "{{range 100000000000}}{{end}}", "more than 10000 steps"},
		{"nested ranges", "{{range 1000}}{{range 1000}}{{end}}{{end}}", "more than 10000 steps"},
		{"output too long", "{{range 5000}}x{{end}}", "rendered text is longer than 1024 bytes"},
		{"a string doubled", `{{$s := "xx"}}{{range 40}}{{$s = printf "%s%s" $s $s}}{{end}}`, "longer than the 1024 a template may make"},
		{"a wide printf", `{{printf "%0900000d" 1}}`, "a value of 900000 bytes is longer than the 1024"},
		{"many long arguments", `{{$s := printf "%0900d" 1}}{{print $s $s}}`, "arguments of 1800 bytes"},
		{"escaping grows", `{{$s := "<<<<<<<<<<"}}{{range 6}}{{$s = print $s $s}}{{end}}{{html $s}}`, "a value of 2560 bytes"},
		{"a missing key", "{{.nope}}", `map has no entry for key "nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl, err := Parse("t", tt.src, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Execute(tmpl, map[string]any{}, small)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestExecuteStopsAtTheDeadline(t *testing.T) {
	tmpl, err := Parse("t", "{{range 100000000000}}{{end}}", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Execute(tmpl, nil, Limits{Output: 1, Steps: 1 << 62, Timeout: time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "longer than 1ms") {
		t.Errorf("error %v", err)
	}
}

func TestParseRefusesDefinedTemplatesAndDeepNesting(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"define", `{{define "a"}}x{{end}}`, "{{define}} and {{block}} are not supported"},
		{"block", `{{block "a" .}}x{{end}}`, "{{define}} and {{block}} are not supported"},
		{"template call", "x\n{{template \"b\"}}", "t:2: {{template}} is not supported"},
		{"deep nesting", strings.Repeat("{{if 1}}", 200) + strings.Repeat("{{end}}", 200), "nested more than 100 deep"},
		{"the step function", "{{hollowmarkStep_ 1}}", `function "hollowmarkStep_" not defined`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("t", tt.src, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// TestFuncsAndTemplatesAreKept: a parsed template keeps the caller's
// functions, and an execution's budget is its own.
func TestFuncsAndTemplatesAreKept(t *testing.T) {
	tmpl, err := Parse("t", "{{range 60}}{{double 1}}{{end}}", template.FuncMap{"double": func(a int) int { return 2 * a }})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		got, err := Execute(tmpl, nil, Limits{Output: 1 << 10, Steps: 200, Timeout: time.Minute})
		if err != nil || string(got) != strings.Repeat("2", 60) {
			t.Fatalf("got %q, %v", got, err)
		}
	}
}
