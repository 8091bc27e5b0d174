package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/hollowmark/hollowmark/controlplane"
)

func TestVersionPrintsPinnedVersions(t *testing.T) {
	cmd := newRootCommand(buildInfo{version: "v9.9.9-test", commit: "0123456789abcdef0123456789abcdef01234567"})
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"version"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"hollowmark v9.9.9-test (commit 0123456789abcdef0123456789abcdef01234567)", "kubernetes " + controlplane.KubernetesVersion, "etcd " + controlplane.EtcdVersion} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("version output %q lacks %q", out.String(), want)
		}
	}
}
