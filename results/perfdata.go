package results

import (
	"encoding/json"
	"fmt"
	"time"
)

// PerfData is the JSON perf-dash reads, one file per measurement.
type PerfData struct {
	Version   string            `json:"version"`
	DataItems []DataItem        `json:"dataItems"`
	Labels    map[string]string `json:"labels,omitempty"`
}

// DataItem is one series of values with its unit and labels.
type DataItem struct {
	Data   map[string]float64 `json:"data"`
	Unit   string             `json:"unit"`
	Labels map[string]string  `json:"labels,omitempty"`
}

// NewPerfData starts a PerfData document of the current version.
func NewPerfData(items ...DataItem) PerfData {
	return PerfData{Version: "v1", DataItems: items}
}

// LatencyItem is percentiles in milliseconds, labelled as perf-dash expects
// (e.g. Metric=pod_startup).
func LatencyItem(p50, p90, p99 time.Duration, labels map[string]string) DataItem {
	return DataItem{
		Data:   map[string]float64{"Perc50": millis(p50), "Perc90": millis(p90), "Perc99": millis(p99)},
		Unit:   "ms",
		Labels: labels,
	}
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Write stores the document at path.
func (p PerfData) Write(path string) error {
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	return WriteFile(path, append(data, '\n'))
}
