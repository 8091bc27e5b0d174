package controlplane_test

import (
	"os"
	"regexp"
	"testing"

	"github.com/hollowmark/hollowmark/controlplane"
)

// The pinned versions hollowmark reports must be the ones go.mod builds.
func TestPinnedVersionsMatchGoMod(t *testing.T) {
	gomod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	for module, want := range map[string]string{
		"k8s.io/kubernetes":         controlplane.KubernetesVersion,
		"go.etcd.io/etcd/server/v3": controlplane.EtcdVersion,
	} {
		m := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(module) + `\s+(\S+)`).FindSubmatch(gomod)
		if m == nil {
			t.Errorf("go.mod does not require %s", module)
			continue
		}
		if string(m[1]) != want {
			t.Errorf("go.mod pins %s %s, hollowmark reports %s", module, m[1], want)
		}
	}
}
