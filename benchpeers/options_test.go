package benchpeers

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// validOptions point at a binary directory with every file present.
func validOptions(t *testing.T) Options {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"etcd", "kube-apiserver", "kube-scheduler", "kube-controller-manager", hollowmarkBinary, kwokBinary, kwokStages} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return Options{Emulators: []string{Hollowmark, KWOK}, Repeats: 3, Nodes: 1000, Pods: 10000, OutDir: "out", RunDir: "runs",
		BinDir: dir, Settle: 15 * time.Second, Idle: time.Minute, NodesTimeout: 10 * time.Minute, PodsTimeout: 30 * time.Minute,
		Interval: time.Second}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(o *Options)
		want   []string // each in the error; none: valid
	}{
		{"defaults", func(*Options) {}, nil},
		{"kwok alone needs no hollowmark", func(o *Options) {
			o.Emulators = []string{KWOK}
			os.Remove(filepath.Join(o.BinDir, hollowmarkBinary))
		}, nil},
		{"unknown emulator", func(o *Options) { o.Emulators = []string{"kwk"} }, []string{`--emulators: unknown emulator "kwk" (known: hollowmark, kwok)`}},
		{"emulator twice", func(o *Options) { o.Emulators = []string{KWOK, KWOK} }, []string{"--emulators: kwok is named twice"}},
		{"no emulator", func(o *Options) { o.Emulators = nil }, []string{"--emulators: name at least one"}},
		{"every number wrong at once", func(o *Options) { o.Repeats, o.Nodes, o.Idle = 0, -1, 0 }, []string{
			"--repeats must be at least 1, got 0", "--nodes must be at least 1, got -1", "--idle must be at least 1s, got 0s"}},
		{"more pods than the nodes hold", func(o *Options) { o.Nodes, o.Pods = 10, 1101 }, []string{
			"--pods must be between 1 and what the nodes hold (110 per node, 1100 for --nodes 10), got 1101"}},
		{"no pods", func(o *Options) { o.Pods = 0 }, []string{"--pods must be between 1"}},
		{"interval too short", func(o *Options) { o.Interval = time.Millisecond }, []string{"--interval must be at least 100ms"}},
		{"kwok not built", func(o *Options) {
			os.Remove(filepath.Join(o.BinDir, kwokBinary))
			os.Remove(filepath.Join(o.BinDir, kwokStages))
		}, []string{"kwok is missing: run `make kwok`", "kwok-stages.yaml is missing: run `make kwok`"}},
		{"control plane not built", func(o *Options) { os.Remove(filepath.Join(o.BinDir, "kube-apiserver")) },
			[]string{"kube-apiserver is missing: run `make build`"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := validOptions(t)
			tc.change(&o)
			err := o.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("valid options rejected: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestReplicas(t *testing.T) {
	for _, tc := range []struct {
		pods int
		want []int
	}{
		{10000, slices.Repeat([]int{1000}, 10)},
		{20, slices.Repeat([]int{2}, 10)},
		{23, []int{3, 3, 3, 2, 2, 2, 2, 2, 2, 2}},
		{4, []int{1, 1, 1, 1}},
	} {
		if got := replicas(tc.pods); !slices.Equal(got, tc.want) {
			t.Errorf("replicas(%d) = %v, want %v", tc.pods, got, tc.want)
		}
	}
}

func TestScheduleInterleaves(t *testing.T) {
	got := schedule([]string{Hollowmark, KWOK}, 3)
	want := []planned{{Hollowmark, 1}, {KWOK, 1}, {Hollowmark, 2}, {KWOK, 2}, {Hollowmark, 3}, {KWOK, 3}}
	if !slices.Equal(got, want) {
		t.Errorf("schedule = %v, want %v", got, want)
	}
}
