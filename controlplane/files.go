package controlplane

import (
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/hollowmark/hollowmark/controlplane/pki"
)

// files holds the paths of the credentials and kubeconfigs in a run
// directory. Everything secret is 0600 under a 0700 pki/ directory.
type files struct {
	caCert, caKey                               string
	saKey                                       string
	apiServerCert, apiServerKey                 string
	schedulerCert, schedulerKey                 string
	controllerManagerCert, controllerManagerKey string
	adminKubeconfig                             string
	schedulerKubeconfig                         string
	controllerManagerKubeconfig                 string
	schedulerConfig                             string
	// etcd's own CA, its serving and peer certificate, and the API
	// server's client certificate for it.
	etcdCACert                    string
	etcdCert, etcdKey             string
	etcdClientCert, etcdClientKey string
	etcdCA                        *x509.Certificate

	// client identities, kept in memory until the API server's address is
	// known and the kubeconfigs can be written.
	admin, scheduler, controllerManager pki.KeyPair
	// etcdProbe is hollowmark's identity at etcd, for its health check;
	// it never leaves memory.
	etcdProbe pki.KeyPair
}

// Identities the components authenticate as.
const (
	adminUser             = "hollowmark-admin"
	schedulerUser         = "system:kube-scheduler"
	controllerManagerUser = "system:kube-controller-manager"
)

// writePKI creates the CA and every certificate the control plane needs.
func writePKI(runDir string) (*pki.Authority, *files, error) {
	dir := filepath.Join(runDir, "pki")
	ca, err := pki.NewAuthority("hollowmark-ca")
	if err != nil {
		return nil, nil, err
	}
	f := &files{
		adminKubeconfig:             filepath.Join(runDir, "kubeconfig"),
		schedulerKubeconfig:         filepath.Join(dir, "kube-scheduler.kubeconfig"),
		controllerManagerKubeconfig: filepath.Join(dir, "kube-controller-manager.kubeconfig"),
		schedulerConfig:             filepath.Join(runDir, "kube-scheduler.yaml"),
	}
	if f.caCert, f.caKey, err = ca.Pair().Write(dir, "ca"); err != nil {
		return nil, nil, err
	}
	sa, err := pki.NewSigningKey()
	if err != nil {
		return nil, nil, err
	}
	if _, f.saKey, err = sa.Write(dir, "service-account"); err != nil {
		return nil, nil, err
	}
	if err := f.writeEtcdPKI(dir); err != nil {
		return nil, nil, err
	}
	loopback := loopbackIPs()
	serving := []struct {
		name      string
		ips       []net.IP
		dns       []string
		cert, key *string
	}{
		{APIServer, append(loopback, net.ParseIP(serviceIP)), []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}, &f.apiServerCert, &f.apiServerKey},
		{Scheduler, loopback, []string{"localhost"}, &f.schedulerCert, &f.schedulerKey},
		{ControllerManager, loopback, []string{"localhost"}, &f.controllerManagerCert, &f.controllerManagerKey},
	}
	for _, s := range serving {
		pair, err := ca.IssueServing(s.name, s.ips, s.dns)
		if err != nil {
			return nil, nil, err
		}
		if *s.cert, *s.key, err = pair.Write(dir, s.name+"-serving"); err != nil {
			return nil, nil, err
		}
	}
	if f.admin, err = ca.IssueClient(adminUser, "system:masters"); err != nil {
		return nil, nil, err
	}
	if f.scheduler, err = ca.IssueClient(schedulerUser); err != nil {
		return nil, nil, err
	}
	if f.controllerManager, err = ca.IssueClient(controllerManagerUser); err != nil {
		return nil, nil, err
	}
	return ca, f, nil
}

func loopbackIPs() []net.IP { return []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")} }

// writeEtcdPKI gives etcd a CA of its own, as kubeadm does: certificates
// from the cluster CA (the hollow nodes', and any the controller-manager
// signs for an approved CSR) must not open etcd, which holds every Secret.
func (f *files) writeEtcdPKI(dir string) error {
	ca, err := pki.NewAuthority("hollowmark-etcd-ca")
	if err != nil {
		return err
	}
	f.etcdCA = ca.Cert
	// The certificate only: nothing is signed for etcd after start, so its
	// CA key stays in memory and dies with us.
	if f.etcdCACert, _, err = (pki.KeyPair{CertPEM: ca.CertPEM}).Write(dir, "etcd-ca"); err != nil {
		return err
	}
	serving, err := ca.IssuePeer(Etcd, loopbackIPs(), []string{"localhost"})
	if err != nil {
		return err
	}
	if f.etcdCert, f.etcdKey, err = serving.Write(dir, "etcd-serving"); err != nil {
		return err
	}
	client, err := ca.IssueClient("kube-apiserver-etcd-client")
	if err != nil {
		return err
	}
	if f.etcdClientCert, f.etcdClientKey, err = client.Write(dir, "kube-apiserver-etcd-client"); err != nil {
		return err
	}
	f.etcdProbe, err = ca.IssueClient("hollowmark-etcd-probe")
	return err
}

// writeKubeconfigs writes the admin and component kubeconfigs once the API
// server's address is known.
func (f *files) writeKubeconfigs(server string, caPEM []byte) error {
	for _, k := range []struct {
		path, user string
		pair       pki.KeyPair
	}{
		{f.adminKubeconfig, adminUser, f.admin},
		{f.schedulerKubeconfig, schedulerUser, f.scheduler},
		{f.controllerManagerKubeconfig, controllerManagerUser, f.controllerManager},
	} {
		if err := WriteKubeconfig(k.path, server, caPEM, k.user, k.pair); err != nil {
			return err
		}
	}
	return nil
}

// WriteKubeconfig writes a 0600 kubeconfig with embedded credentials for user.
func WriteKubeconfig(path, server string, caPEM []byte, user string, pair pki.KeyPair) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["hollowmark"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{ClientCertificateData: pair.CertPEM, ClientKeyData: pair.KeyPEM}
	cfg.Contexts["hollowmark"] = &clientcmdapi.Context{Cluster: "hollowmark", AuthInfo: user}
	cfg.CurrentContext = "hollowmark"
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("writing kubeconfig %s: %w", path, err)
	}
	// WriteToFile leaves an existing file's mode alone.
	if err := os.Chmod(path, 0o600); err != nil {
		return fmt.Errorf("restricting kubeconfig %s: %w", path, err)
	}
	return nil
}
