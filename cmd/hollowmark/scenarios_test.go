package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/hollowmark/hollowmark/measurements"
)

func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCommand(buildInfo{version: "test"})
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

func TestScenariosListsDensityAndLoad(t *testing.T) {
	out, err := run(t, "scenarios")
	if err != nil || !strings.HasPrefix(out, "density\t") || !strings.Contains(out, "\nload\tClusterLoader2's load test") {
		t.Fatalf("output %q, error %v", out, err)
	}
}

// TestMethodsPrintsTheRegistry: docs/scenarios.md's reference is what
// `methods --markdown` prints (a test in measurements holds the file to it).
func TestMethodsPrintsTheRegistry(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"methods"}, measurements.NewRegistry().Text()},
		{[]string{"methods", "--markdown"}, measurements.NewRegistry().Markdown()},
	}
	for _, tt := range tests {
		out, err := run(t, tt.args...)
		if err != nil || out != tt.want {
			t.Errorf("%v: error %v, output\n%s\nwant\n%s", tt.args, err, out, tt.want)
		}
		if !strings.Contains(out, "WaitForGenericK8sObjects") {
			t.Errorf("%v: no WaitForGenericK8sObjects in\n%s", tt.args, out)
		}
	}
}

func TestValidateBuiltinAndFiles(t *testing.T) {
	out, err := run(t, "validate", "density", "--param", "nodes=1000")
	if err != nil || !strings.Contains(out, "10 namespaces") || !strings.Contains(out, "step 1 of 12") {
		t.Fatalf("output %q, error %v", out, err)
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("name: bad\nsteps:\n  - name: x\n    colour: blue\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = run(t, "validate", bad)
	if err == nil || !strings.Contains(err.Error(), bad+":4: field colour not found") {
		t.Fatalf("got %v, want the file, line 4 and the unknown field", err)
	}
	if _, err := run(t, "validate", "no-such"); err == nil || !strings.Contains(err.Error(), "not a built-in scenario (density, load)") {
		t.Fatalf("got %v", err)
	}
}

// TestValidateRefusesSpecialFiles: files that cannot be a scenario are
// refused before they are opened (a FIFO would block, /dev/zero never
// ends), naming the path.
func TestValidateRefusesSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.yaml")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ path, want string }{
		{fifo, fifo + ":1: not a regular file (a FIFO)"},
		{"/dev/zero", "/dev/zero:1: not a regular file (a device)"},
		{dir, dir + ":1: not a regular file (a directory)"},
		{filepath.Join(dir, "missing.yaml"), "missing.yaml: no such file, and not a built-in scenario"},
	}
	for _, tt := range tests {
		if _, err := run(t, "validate", tt.path); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("validate %s: error %v, want %q", tt.path, err, tt.want)
		}
	}
}
