package realnode

import (
	"fmt"

	"sigs.k8s.io/yaml"
)

// kubeletSettings are the per-run values of the kubelet's configuration.
type kubeletSettings struct {
	socket, clientCA, podLogs string
	port, healthzPort         int
}

// kubeletConfig is the KubeletConfiguration of the reference node: the
// defaults (whose request mix docs/fidelity.md derives) but for what this
// kind of machine needs: cgroup v1 allowed and cgroupfs, swap tolerated, no
// lowering of its own oom_score_adj (no CAP_SYS_RESOURCE), its ports on
// loopback, eviction and image GC thresholds that a shared disk does not
// trip, no certificate rotation (its client certificate is issued by the
// run's CA). Only these fields are written; the kubelet defaults the rest.
func kubeletConfig(s kubeletSettings) ([]byte, error) {
	c := map[string]any{
		"apiVersion":                  "kubelet.config.k8s.io/v1beta1",
		"kind":                        "KubeletConfiguration",
		"failCgroupV1":                false,
		"cgroupDriver":                "cgroupfs",
		"failSwapOn":                  false,
		"containerRuntimeEndpoint":    "unix://" + s.socket,
		"address":                     "127.0.0.1",
		"port":                        s.port,
		"healthzBindAddress":          "127.0.0.1",
		"healthzPort":                 s.healthzPort,
		"readOnlyPort":                0,
		"rotateCertificates":          false,
		"oomScoreAdj":                 0,
		"podLogsDir":                  s.podLogs,
		"clusterDNS":                  []string{"10.0.0.10"},
		"clusterDomain":               "cluster.local",
		"imageGCHighThresholdPercent": 100,
		"imageGCLowThresholdPercent":  99,
		"evictionHard": map[string]string{
			"memory.available":  "100Mi",
			"nodefs.available":  "1%",
			"imagefs.available": "1%",
			"nodefs.inodesFree": "1%",
		},
		"authentication": map[string]any{"x509": map[string]any{"clientCAFile": s.clientCA}},
	}
	out, err := yaml.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encoding the kubelet configuration: %w", err)
	}
	return out, nil
}
