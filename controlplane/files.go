package controlplane

import (
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

	// client identities, kept in memory until the API server's address is
	// known and the kubeconfigs can be written.
	admin, scheduler, controllerManager pki.KeyPair
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
	loopback := []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")}
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
