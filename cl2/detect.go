package cl2

import (
	"fmt"
	"regexp"
)

// Keys only a CL2 config has: read from the text, since a config is not
// YAML until it is rendered. Our scenario format spells its keys in lower
// case and has none of these.
var (
	cl2Keys       = regexp.MustCompile(`(?mi)^\s*(-\s+)?(namespace|objectBundle|objectTemplatePath|templateFillMap|module|automanagedNamespaces|chaosMonkey|qpsLoad|randomizedLoad|steppedLoad|timeLimitedLoad|randomizedTimeLimitedLoad|parallelismLimitedLoad|globalQPSLoad|poissonLoad)\s*:`)
	cl2CasedKeys  = regexp.MustCompile(`(?m)^\s*(-\s+)?(Method|Params|Identifier|Instances)\s*:`)
	hollowmarkKey = regexp.MustCompile(`(?m)^(parameters|namespaces)\s*:`)
)

// IsConfig says whether the file is a ClusterLoader2 test config rather
// than one of our scenarios.
func IsConfig(file string) (bool, error) {
	// A FIFO, a device or a huge file is not a config, and is not read
	// here (a FIFO would block for good): the scenario reader refuses it
	// with the reason.
	if !readable(file) {
		return false, nil
	}
	data, err := readPath(file)
	if err != nil {
		return false, fmt.Errorf("reading %s: %w", file, err)
	}
	if hollowmarkKey.Match(data) {
		return false, nil
	}
	return cl2Keys.Match(data) || cl2CasedKeys.Match(data), nil
}
