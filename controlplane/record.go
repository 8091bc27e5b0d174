package controlplane

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hollowmark/hollowmark/internal/atomicfile"
)

// RecordFile is the name of the run record in the run directory.
const RecordFile = "controlplane.json"

// Record says what control plane a run used: enough to reproduce it and to
// tell two runs' setups apart. It holds paths to credentials, never their
// contents.
type Record struct {
	Mode           string            `json:"mode"` // "embedded" or "attached"
	RunDir         string            `json:"runDir,omitempty"`
	Server         string            `json:"server,omitempty"`
	ServerVersion  string            `json:"serverVersion,omitempty"`
	StartedAt      time.Time         `json:"startedAt"`
	StartupSeconds float64           `json:"startupSeconds"`
	Components     []ComponentRecord `json:"components,omitempty"`
}

// ComponentRecord describes one started component.
type ComponentRecord struct {
	Name         string   `json:"name"`
	Binary       string   `json:"binary"`
	Version      string   `json:"version"`
	PID          int      `json:"pid"`
	URL          string   `json:"url"`
	Args         []string `json:"args"`
	LogFile      string   `json:"logFile"`
	ReadySeconds float64  `json:"readySeconds"`
}

func (r Record) write(runDir string) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding run record: %w", err)
	}
	path := filepath.Join(runDir, RecordFile)
	// Written whole or not at all: the record is rewritten when a
	// component restarts, while others (a test, `hollowmark nodes`) read it.
	if err := atomicfile.WriteFile(path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("writing run record: %w", err)
	}
	return nil
}

// ReadRecord loads the run record of a run directory.
func ReadRecord(runDir string) (Record, error) {
	var r Record
	data, err := os.ReadFile(filepath.Join(runDir, RecordFile))
	if err != nil {
		return r, fmt.Errorf("reading run record: %w", err)
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return r, fmt.Errorf("parsing %s: %w", filepath.Join(runDir, RecordFile), err)
	}
	return r, nil
}
