package cl2

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/hollowmark/hollowmark/scenarios"
)

func TestTemplateFunctionsMeanWhatCL2Means(t *testing.T) {
	fsys := fstest.MapFS{"part.txt": {Data: []byte("included")}}
	data := map[string]any{"Nodes": 250, "F": 7.0, "I64": int64(3), "S": "12", "Empty": ""}
	for _, tc := range []struct{ tmpl, want string }{
		{`{{DefaultParam .Unset 30}}`, "30"},
		{`{{DefaultParam .Empty "x"}}`, ""}, // set, if empty: kept
		{`{{DefaultParam .F 1}}`, "7"},
		{`{{AddInt 1 2.9 .I64}}`, "6"},
		{`{{AddFloat 1 0.5}}`, "1.5"},
		{`{{SubtractInt .Nodes 0.5}}`, "249"},
		{`{{MultiplyInt .F 1.5}}`, "10"},
		{`{{MultiplyFloat 2 1.25}}`, "2.5"},
		{`{{DivideInt .Nodes 100}}`, "2"},
		{`{{DivideFloat 5 2}}`, "2.5"},
		{`{{DivideInt .S 5}}`, "2"}, // numeric strings are numbers
		{`{{MaxInt 1 (DivideInt .Nodes 100) 2.5}}`, "2"},
		{`{{MinInt .Nodes 100}}`, "100"},
		{`{{MaxFloat 1 2.5}}`, "2.5"},
		{`{{Mod 17 5}}`, "2"},
		{`{{Ceil (DivideFloat 7 2)}}`, "4"},
		{`{{IfThenElse (lt .Nodes 100) "small" "big"}}`, "big"},
		{`{{Concat "a" "b" "c"}}`, "abc"},
		{`{{Lowercase "ABC"}}`, "abc"},
		{`{{range Loop 3}}{{.}}{{end}}`, "012"},
		{`{{range Seq 3}}{{.}}{{end}}`, "000"},
		{`{{range SliceOfZeros 2}}{{.}}{{end}}`, "00"},
		{`{{range StringSplit "a,b"}}[{{.}}]{{end}}`, "[a][b]"},
		{`{{YamlQuote "a: b" 2}}`, "'a: b'\n    "},
		{`{{RandIntRange 4 4}}`, "4"},
		{`{{RandIntRange 5 2}}`, "5"},
		{`{{len (RandData 8)}}`, "8"},
		{`{{eq (RandDataWithSeed 16 "x") (RandDataWithSeed 16 "x")}}`, "true"},
		{`{{RandDataWithSeed 0 "x"}}`, ""},
		{`{{IncludeEmbedFile "part.txt"}}`, "included"},
	} {
		got, err := render(fsys, t.TempDir(), newLockedRand(1), "t", tc.tmpl, data)
		if err != nil || got != tc.want {
			t.Errorf("%s = %q, %v; want %q", tc.tmpl, got, err, tc.want)
		}
	}
}

func TestRandomFunctionsStayInRangeAndFollowTheSeed(t *testing.T) {
	draw := func(seed uint64) string {
		out, err := render(nil, "", newLockedRand(seed), "t", `{{range Loop 50}}{{RandIntRange 3 7}} {{RandInt 2}} {{end}}`, nil)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	a := draw(1)
	for i, f := range strings.Fields(a) {
		lo, hi := "3", "7"
		if i%2 == 1 {
			lo, hi = "0", "2"
		}
		if f < lo || f > hi {
			t.Fatalf("draw %d = %s, outside [%s, %s]", i, f, lo, hi)
		}
	}
	if a != draw(1) || a == draw(2) {
		t.Errorf("seed 1 twice gave different draws, or seed 2 the same")
	}
}

func TestObjectTemplatesSeeCL2Data(t *testing.T) {
	fsys := fstest.MapFS{
		"cm.yaml":  {Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{.Name}}\ndata:\n  base: {{.BaseName}}\n  index: \"{{.Index}}\"\n  even: \"{{eq (Mod .Index 2) 0}}\"\n  ns: {{.Namespace}}\n  nodes: \"{{.Nodes}}\"\n  size: \"{{.Size}}\"\n")},
		"bad.yaml": {Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{.Name}}\n  labels:\n    group: {{.Group}}\n")},
	}
	ts := &objectTemplates{mapping: map[string]any{"Nodes": 5, "Size": 1.0}, rng: newLockedRand(1), sources: map[string]string{}}
	tmpl, err := ts.Parse(fsys, "cm.yaml")
	if err != nil {
		t.Fatal(err)
	}
	o := scenarios.Object{Basename: "web", Template: "cm.yaml", Params: map[string]any{"Size": 3.0}}
	out, err := ts.Execute(tmpl, o, scenarios.Replica{Name: "web-4", Index: 4, Namespace: "ns-1"})
	want := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-4\ndata:\n  base: web\n  index: \"4\"\n  even: \"true\"\n  ns: ns-1\n  nodes: \"5\"\n  size: \"3\"\n"
	if err != nil || string(out) != want {
		t.Errorf("rendered %q, %v; want %q", out, err, want)
	}
	bad, err := ts.Parse(fsys, "bad.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Execute(bad, scenarios.Object{Basename: "b"}, scenarios.Replica{Name: "b-0"}); err == nil ||
		!strings.Contains(err.Error(), "bad.yaml:6: {{.Group}} has no value") {
		t.Errorf("a field with no value: %v", err)
	}
}

func TestRenderedLinesMapToTheSource(t *testing.T) {
	src := "a: 1\n{{if .X}}\nb: 2\nc: 3\n{{end}}\nd: {{.D}}\n{{range Loop 2}}\n- e: {{.}}\n{{end}}\nf: 6\n"
	out, err := render(nil, "", newLockedRand(1), "t", src, map[string]any{"X": false, "D": 4})
	if err != nil {
		t.Fatal(err)
	}
	lines := newSourceLines(src, out)
	for rendered, want := range map[string]int{"a: 1": 1, "d: 4": 6, "- e: 1": 8, "f: 6": 10} {
		n := 0
		for i, l := range strings.Split(out, "\n") {
			if l == rendered {
				n = i + 1
			}
		}
		if got := lines.line(n); got != want {
			t.Errorf("%q is rendered line %d, mapped to source line %d, want %d", rendered, n, got, want)
		}
	}
}
