package controlplane

// The upstream versions hollowmark pins in go.mod and builds into bin/. A test
// keeps these equal to go.mod.
const (
	KubernetesVersion = "v1.36.3"
	EtcdVersion       = "v3.6.8"
)
