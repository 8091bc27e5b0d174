package measurements

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/hollowmark/hollowmark/hollow"
)

// WaitForNodesReadyName names the barrier; the wait itself is the one hollow
// node pools use to wait for their nodes (hollow.WaitForNodesReady).
const WaitForNodesReadyName = "WaitForNodesReady"

// defaultWaitTimeout bounds our barriers unless a scenario says otherwise.
const defaultWaitTimeout = 15 * time.Minute

func waitForNodesReadyMethod() Method {
	selector := SelectorParam("labelSelector", "the nodes counted")
	minCount := IntParam("minCount", 1, "how many must be Ready")
	timeout := DurationParam("timeout", defaultWaitTimeout, "how long to wait")
	return Method{
		Name:   WaitForNodesReadyName,
		Doc:    "until that many nodes are Ready and schedulable; the timeout error names the others",
		Params: []ParamSpec{selector, minCount, timeout},
		Wait: func(p Params, d Deps) (Barrier, error) {
			progress := progressLog(d.log(), "nodes ready")
			w := &hollow.WaitForNodesReady{Client: d.Client, LabelSelector: selector.Get(p), MinCount: minCount.Get(p), Timeout: timeout.Get(p),
				Progress: func(ready, total int) { progress(zap.Int("ready", ready), zap.Int("nodes", total)) }}
			return noFindings(w.Wait), nil
		},
	}
}

// firstOf lists the first n of items, sorted, and counts the rest.
func firstOf(items []string, n int) string {
	if len(items) == 0 {
		return "none"
	}
	slices.Sort(items)
	if len(items) > n {
		return strings.Join(items[:n], "; ") + fmt.Sprintf("; and %d more", len(items)-n)
	}
	return strings.Join(items, "; ")
}
