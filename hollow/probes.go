package hollow

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"
)

// PodProbes are the node-side tracing probes of one pod, as the node
// performance dashboard's kubelet tracing records them: when the kubelet saw
// the pod, when its sandbox was ready, when each container started, when it
// considered the pod running, and when the API server accepted that status.
type PodProbes struct {
	UID          string           `json:"uid"`
	Namespace    string           `json:"namespace"`
	Name         string           `json:"name"`
	Node         string           `json:"node"`
	Seen         time.Time        `json:"seen"`
	SandboxReady time.Time        `json:"sandboxReady,omitzero"`
	Containers   []ContainerProbe `json:"containers,omitempty"`
	Running      time.Time        `json:"running,omitzero"`
	StatusPosted time.Time        `json:"statusPosted,omitzero"`
}

// ContainerProbe is when one container started.
type ContainerProbe struct {
	Name    string    `json:"name"`
	Started time.Time `json:"started"`
}

// ProbeSink receives each pod's probes once, when its running status was
// posted or when the pod went away before that.
type ProbeSink interface {
	Record(PodProbes)
}

// ProbeFile writes probes as JSON lines. A file, not an endpoint: the
// probes are raw data every reported figure must be recomputable from, they
// outlive the node process, and streaming them out keeps no per-pod history
// in memory.
type ProbeFile struct {
	mu   sync.Mutex
	path string
	f    *os.File
	w    *bufio.Writer
	enc  *json.Encoder
	err  error
}

// CreateProbeFile opens path for appending.
func CreateProbeFile(path string) (*ProbeFile, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening probe file: %w", err)
	}
	w := bufio.NewWriter(f)
	return &ProbeFile{path: path, f: f, w: w, enc: json.NewEncoder(w)}, nil
}

// Record appends one pod's probes.
func (p *ProbeFile) Record(pp PodProbes) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.enc.Encode(pp); err != nil && p.err == nil {
		p.err = err
	}
}

// Flush writes buffered probes to the file.
func (p *ProbeFile) Flush() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.w.Flush(); err != nil && p.err == nil {
		p.err = err
	}
	return p.err
}

// ReadAll flushes the file and reads back every probe in it.
func (p *ProbeFile) ReadAll() ([]PodProbes, error) {
	if err := p.Flush(); err != nil {
		return nil, fmt.Errorf("flushing probe file: %w", err)
	}
	return ReadProbeFile(p.path)
}

// ReadProbeFile reads a probe file written by ProbeFile.
func ReadProbeFile(path string) ([]PodProbes, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading probe file: %w", err)
	}
	defer f.Close()
	var out []PodProbes
	dec := json.NewDecoder(bufio.NewReader(f))
	for dec.More() {
		var pp PodProbes
		if err := dec.Decode(&pp); err != nil {
			return out, fmt.Errorf("reading probe file %s: %w", path, err)
		}
		out = append(out, pp)
	}
	return out, nil
}

// Close flushes and closes the file.
func (p *ProbeFile) Close() error {
	err := p.Flush()
	if cerr := p.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// ProbeMemory keeps probes in memory, for a measurement in the same
// process as the nodes.
type ProbeMemory struct {
	mu     sync.Mutex
	probes []PodProbes
}

// Record keeps one pod's probes.
func (m *ProbeMemory) Record(pp PodProbes) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.probes = append(m.probes, pp)
}

// All returns a copy of the probes recorded so far.
func (m *ProbeMemory) All() []PodProbes {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.probes)
}
