package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/hollowmark/hollowmark/internal/requestmix"
)

func TestReportTablesEveryRow(t *testing.T) {
	expected := []requestmix.Expectation{{Phase: "pod start, per pod", Request: "GET pods", Want: 3, Tolerance: 0.15}}
	p := requestmix.Phases{Nodes: 1, Pods: 2, Start: requestmix.Delta{Requests: map[string]float64{"GET pods": 6, "POST pods": 2, "GET configmaps": 1}}}
	res, err := p.Check(expected)
	if err != nil {
		t.Fatal(err)
	}
	r := report{Pods: 2, Real: p, RealResults: res, Hollow: p, HollowResults: res, HaveHollow: true}
	md := r.markdown()
	for _, want := range []string{"| pod start, per pod | GET pods | 3 | 3 | yes (±15%) | 3 | yes |", "| pod start, per pod | GET configmaps | 0.5 | 0.5 |"} {
		if !strings.Contains(md, want) {
			t.Errorf("table lacks %q:\n%s", want, md)
		}
	}
	dir := t.TempDir()
	if err := r.write(dir); err != nil {
		t.Fatal(err)
	}
	col, err := readColumn(filepath.Join(dir, "table.csv"), "hollow")
	if err != nil || col["pod start, per pod|GET pods"] != 3 {
		t.Errorf("hollow column = %v, %v", col, err)
	}
}
