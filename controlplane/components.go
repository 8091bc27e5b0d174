package controlplane

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// Component binary names, as `make build` writes them to bin/.
const (
	Etcd              = "etcd"
	APIServer         = "kube-apiserver"
	Scheduler         = "kube-scheduler"
	ControllerManager = "kube-controller-manager"
)

// Address ranges handed to the components. They only label objects (pod IPs,
// service IPs); nothing routes to them.
const (
	serviceCIDR  = "10.0.0.0/16"
	serviceIP    = "10.0.0.1"
	clusterCIDR  = "10.64.0.0/10" // room for 16,384 nodes at /24 each
	nodeCIDRMask = "24"
	saIssuer     = "https://kubernetes.default.svc.cluster.local"
)

// inflightLimits sizes the API server's concurrency for the cluster size, as
// the scalability jobs do for their masters: the defaults (400 read-only, 200
// mutating) throttle a few thousand nodes' heartbeats and watches.
func inflightLimits(nodes int) (readOnly, mutating int) {
	switch {
	case nodes >= 3000:
		return 3000, 1000
	case nodes >= 1000:
		return 1500, 500
	default:
		return 400, 200
	}
}

// etcdArgs serves clients and peers over TLS and admits only certificates
// of etcd's own CA: on plain HTTP any local user could read every Secret.
func etcdArgs(f *files, dataDir string, clientPort, peerPort int, noFsync bool) []string {
	client := fmt.Sprintf("https://127.0.0.1:%d", clientPort)
	peer := fmt.Sprintf("https://127.0.0.1:%d", peerPort)
	args := []string{
		"--name=hollowmark",
		"--data-dir=" + dataDir,
		"--listen-client-urls=" + client,
		"--advertise-client-urls=" + client,
		"--listen-peer-urls=" + peer,
		"--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=hollowmark=" + peer,
		"--cert-file=" + f.etcdCert,
		"--key-file=" + f.etcdKey,
		"--trusted-ca-file=" + f.etcdCACert,
		"--client-cert-auth=true",
		"--peer-cert-file=" + f.etcdCert,
		"--peer-key-file=" + f.etcdKey,
		"--peer-trusted-ca-file=" + f.etcdCACert,
		"--peer-client-cert-auth=true",
		"--quota-backend-bytes=8589934592",
		"--log-level=warn",
	}
	if noFsync {
		args = append(args, "--unsafe-no-fsync=true")
	}
	return args
}

func apiServerArgs(f *files, etcdURL string, port, nodes int) []string {
	readOnly, mutating := inflightLimits(nodes)
	return []string{
		"--etcd-servers=" + etcdURL,
		"--etcd-cafile=" + f.etcdCACert,
		"--etcd-certfile=" + f.etcdClientCert,
		"--etcd-keyfile=" + f.etcdClientKey,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--tls-cert-file=" + f.apiServerCert,
		"--tls-private-key-file=" + f.apiServerKey,
		"--client-ca-file=" + f.caCert,
		"--anonymous-auth=false",
		"--enable-bootstrap-token-auth=true",
		"--authorization-mode=Node,RBAC",
		"--enable-admission-plugins=NodeRestriction",
		"--allow-privileged=true",
		"--service-cluster-ip-range=" + serviceCIDR,
		"--service-account-issuer=" + saIssuer,
		"--service-account-key-file=" + f.saKey,
		"--service-account-signing-key-file=" + f.saKey,
		"--max-requests-inflight=" + strconv.Itoa(readOnly),
		"--max-mutating-requests-inflight=" + strconv.Itoa(mutating),
		"--v=2",
	}
}

// schedulerConfig is written to a file because kube-scheduler ignores its
// deprecated --kubeconfig and QPS flags when given a configuration.
//
// Leader election is off for the scheduler and the controller-manager: with
// one instance of each it elects nothing, and a component that cannot renew
// its leader lease exits, so an API server restart would take it down.
func schedulerConfig(kubeconfig string, qps float32, burst int) string {
	return fmt.Sprintf(`apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: %q
  qps: %g
  burst: %d
leaderElection:
  leaderElect: false
`, kubeconfig, qps, burst)
}

func schedulerArgs(f *files, configPath string, port int) []string {
	return []string{
		"--config=" + configPath,
		"--authentication-kubeconfig=" + f.schedulerKubeconfig,
		"--authorization-kubeconfig=" + f.schedulerKubeconfig,
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--tls-cert-file=" + f.schedulerCert,
		"--tls-private-key-file=" + f.schedulerKey,
		"--v=2",
	}
}

func controllerManagerArgs(f *files, port int, qps float32, burst int) []string {
	return []string{
		"--kubeconfig=" + f.controllerManagerKubeconfig,
		"--authentication-kubeconfig=" + f.controllerManagerKubeconfig,
		"--authorization-kubeconfig=" + f.controllerManagerKubeconfig,
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--tls-cert-file=" + f.controllerManagerCert,
		"--tls-private-key-file=" + f.controllerManagerKey,
		"--use-service-account-credentials=true",
		"--service-account-private-key-file=" + f.saKey,
		"--root-ca-file=" + f.caCert,
		"--cluster-signing-cert-file=" + f.caCert,
		"--cluster-signing-key-file=" + f.caKey,
		"--allocate-node-cidrs=true",
		"--cluster-cidr=" + clusterCIDR,
		"--node-cidr-mask-size=" + nodeCIDRMask,
		"--service-cluster-ip-range=" + serviceCIDR,
		"--kube-api-qps=" + strconv.FormatFloat(float64(qps), 'g', -1, 32),
		"--kube-api-burst=" + strconv.Itoa(burst),
		"--leader-elect=false",
		"--v=2",
	}
}

// binaryPath finds a component binary in binDir and says how to get one
// when it is missing.
func binaryPath(binDir, name string) (string, error) {
	path := filepath.Join(binDir, name)
	info, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("%s not found in %s: run `make build`, or pass --control-plane-bin-dir with your own builds: %w", name, binDir, err)
	}
	if info.IsDir() || info.Mode()&0o111 == 0 {
		return "", fmt.Errorf("%s is not an executable file: run `make build`, or pass --control-plane-bin-dir", path)
	}
	return path, nil
}
