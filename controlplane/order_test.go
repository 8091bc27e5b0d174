package controlplane

import (
	"slices"
	"testing"
)

func TestCrashesRestartInStartOrder(t *testing.T) {
	tests := []struct {
		crashed, want []string
	}{
		{[]string{ControllerManager, APIServer}, []string{APIServer, ControllerManager}},
		{[]string{Scheduler, ControllerManager, APIServer, Etcd}, []string{Etcd, APIServer, Scheduler, ControllerManager}},
		{[]string{APIServer}, []string{APIServer}},
	}
	for _, tt := range tests {
		var crashes []*ExitError
		for _, name := range tt.crashed {
			crashes = append(crashes, &ExitError{Component: name})
		}
		var got []string
		for _, c := range inStartOrder(crashes) {
			got = append(got, c.Component)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("inStartOrder(%v) = %v, want %v", tt.crashed, got, tt.want)
		}
	}
}
