package logging

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/klog/v2"
)

// client-go's klog lines (watch errors while an API server restarts) belong
// in the file, not on the terminal.
func TestKlogGoesToTheFileOnly(t *testing.T) {
	var console bytes.Buffer
	path := filepath.Join(t.TempDir(), "hollowmark.log")
	log, closeLog, err := New(&console, path, false)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("progress line")
	klog.ErrorS(errors.New("connection refused"), "Failed to watch")
	klog.Flush()
	closeLog()
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(console.String(), "progress line") || strings.Contains(console.String(), "Failed to watch") {
		t.Errorf("terminal got:\n%s", console.String())
	}
	if !strings.Contains(string(file), "Failed to watch") || !strings.Contains(string(file), "connection refused") {
		t.Errorf("log file lacks the klog line:\n%s", file)
	}
}
