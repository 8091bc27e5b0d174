package controlplane

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestLogTailReadsOnlyTheEnd(t *testing.T) {
	tests := []struct {
		name  string
		lines int
		want  string
	}{
		{"short log", 3, "  line 1\n  line 2\n  line 3"},
		// Far more than tailBytes: only the end is read.
		{"long log", 20000, "  line 19998\n  line 19999\n  line 20000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			for i := 1; i <= tt.lines; i++ {
				b.WriteString("line " + strconv.Itoa(i) + "\n")
			}
			path := filepath.Join(t.TempDir(), "c.log")
			if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
				t.Fatal(err)
			}
			p := &process{logPath: path}
			if got := p.logTail(3); got != tt.want {
				t.Errorf("logTail(3) = %q, want %q", got, tt.want)
			}
		})
	}
}
