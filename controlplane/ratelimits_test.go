package controlplane

import (
	"slices"
	"strings"
	"testing"
)

// TestComponentRateLimits: unset, the scheduler and controller-manager get
// the scalability jobs' 100 QPS, burst 100; a burst left unset follows its
// QPS; what is given is what the components are started with.
func TestComponentRateLimits(t *testing.T) {
	tests := []struct {
		name                         string
		opts                         Options
		schedulerConfig              string
		controllerQPS, controllerBur string
	}{
		{"defaults", Options{}, "qps: 100\n  burst: 100\n", "--kube-api-qps=100", "--kube-api-burst=100"},
		{"burst follows QPS", Options{SchedulerQPS: 500, ControllerManagerQPS: 250}, "qps: 500\n  burst: 500\n", "--kube-api-qps=250", "--kube-api-burst=250"},
		{"a burst of at least 1", Options{SchedulerQPS: 0.5, ControllerManagerQPS: 0.5}, "qps: 0.5\n  burst: 1\n", "--kube-api-qps=0.5", "--kube-api-burst=1"},
		{"both given", Options{SchedulerQPS: 500, SchedulerBurst: 1000, ControllerManagerQPS: 20, ControllerManagerBurst: 30},
			"qps: 500\n  burst: 1000\n", "--kube-api-qps=20", "--kube-api-burst=30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.opts
			o.setDefaults()
			if got := schedulerConfig("k", o.SchedulerQPS, o.SchedulerBurst); !strings.Contains(got, tt.schedulerConfig) {
				t.Errorf("scheduler configuration\n%s\nlacks %q", got, tt.schedulerConfig)
			}
			args := controllerManagerArgs(&files{}, 1, o.ControllerManagerQPS, o.ControllerManagerBurst)
			for _, want := range []string{tt.controllerQPS, tt.controllerBur} {
				if !slices.Contains(args, want) {
					t.Errorf("controller-manager args %v lack %s", args, want)
				}
			}
		})
	}
}
