//go:build fidelity

// The request-mix check takes 9 minutes (a 6-minute idle window and a minute
// of control-plane baseline), so it has a make target of its own,
// `make test-fidelity`, which CI runs after `make test`.

package hollow_test

import (
	"testing"
	"time"

	"github.com/hollowmark/hollowmark/internal/requestmix"
)

// TestRequestMixMatchesKubelet is the fidelity check: hollow nodes make the
// requests docs/fidelity.md expects of kubelet and kube-proxy v1.36, each
// within its row's tolerance.
func TestRequestMixMatchesKubelet(t *testing.T) {
	run := measureMix(t, 10, 40, 6*time.Minute)
	results := run.check(t)
	t.Logf("request mix (%d nodes, %d pods on %d nodes):\n%s", run.nodes, run.pods, run.nodesWithPods, requestmix.Table(results))
	t.Logf("all requests per pod start: %.1f, per pod deletion: %.1f", perPod(run.start, run.pods), perPod(run.delete, run.pods))
	for _, r := range results {
		if !r.OK() {
			t.Errorf("docs/fidelity.md:%d: %s %s: measured %.3g, expected %.3g ±%.0f%%", r.Line, r.Phase, r.Request, r.Got, r.Want, r.Tolerance*100)
		}
	}
}
