package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Bad flags end the command before anything starts, saying what is wrong,
// with exit code 2; nothing is written.
func TestBadFlags(t *testing.T) {
	bin := t.TempDir() // holds no binary
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"unknown flag", []string{"--node", "5"}, []string{"unknown flag: --node"}},
		{"not a number", []string{"--repeats", "three"}, []string{`invalid argument "three" for "--repeats"`}},
		{"a positional argument", []string{"kwok"}, []string{`unknown command "kwok"`}},
		{"bad values, all named", []string{"--repeats", "0", "--emulators", "hollowmark,kwk", "--pods", "0"}, []string{
			"--repeats must be at least 1, got 0", `--emulators: unknown emulator "kwk"`, "--pods must be between 1"}},
		{"binaries missing", []string{"--bin-dir", bin}, []string{
			filepath.Join(bin, "kwok") + " is missing: run `make kwok`", filepath.Join(bin, "kube-apiserver") + " is missing: run `make build`"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append(tc.args, "--out", out, "--run-dir", out+"-runs"), &stdout, &stderr)
			if code != exitInterrupted {
				t.Errorf("exit code %d, want %d", code, exitInterrupted)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr does not say %q:\n%s", w, stderr.String())
				}
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("%s was created", out)
			}
		})
	}
}
