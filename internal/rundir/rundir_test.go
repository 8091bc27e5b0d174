package rundir

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// deadPID is the PID of a process that has exited and been reaped.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

func writeOwner(t *testing.T, dir string, o owner) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(o)
	if err := os.WriteFile(filepath.Join(dir, OwnerFile), data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestMarkStaleFindsOnlyDirectoriesOfDeadOwners(t *testing.T) {
	runs := t.TempDir()
	self := filepath.Join(runs, "self")
	release, err := Claim(mkdir(t, self))
	if err != nil {
		t.Fatal(err)
	}
	myStart, err := startTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		owner     *owner // nil: never claimed
		wantStale bool
	}{
		{"killed", &owner{PID: deadPID(t), StartTime: 1}, true},
		{"pid reused by another process", &owner{PID: os.Getpid(), StartTime: myStart + 1}, true},
		{"live", &owner{PID: os.Getpid(), StartTime: myStart}, false},
		{"never claimed", nil, false},
	}
	for _, tt := range tests {
		dir := filepath.Join(runs, tt.name)
		if tt.owner != nil {
			writeOwner(t, dir, *tt.owner)
		} else if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	stale, err := MarkStale(self)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, s := range stale {
		found[filepath.Base(s.Dir)] = true
	}
	for _, tt := range tests {
		dir := filepath.Join(runs, tt.name)
		_, statErr := os.Stat(filepath.Join(dir, StaleFile))
		if marked := statErr == nil; marked != tt.wantStale || found[tt.name] != tt.wantStale {
			t.Errorf("%s: marked %v, reported %v, want %v", tt.name, marked, found[tt.name], tt.wantStale)
		}
	}
	if _, err := os.Stat(filepath.Join(self, OwnerFile)); err != nil {
		t.Errorf("the caller's own claim was touched: %v", err)
	}
	release()
	if _, err := os.Stat(filepath.Join(self, OwnerFile)); !os.IsNotExist(err) {
		t.Errorf("release left the owner file: %v", err)
	}
}

func mkdir(t *testing.T, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}
