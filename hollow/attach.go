package hollow

import (
	"context"
	"os"
	"path/filepath"

	"go.uber.org/zap"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/hollowmark/hollowmark/controlplane/pki"
)

// Cluster is the cluster a pool joins.
type Cluster struct {
	// Config is the operator's identity: it deletes the pool's Nodes and,
	// without a CA, creates the bootstrap token.
	Config *rest.Config
	// Authority is the cluster's CA when we started the cluster.
	Authority *pki.Authority
	// KubeconfigPath is the kubeconfig Config came from, if any: a
	// 'hollowmark up' run directory beside it lends its CA.
	KubeconfigPath string
	// Owned: the cluster goes away with us (we started it).
	Owned bool
}

// ChooseCredentials picks how hollow nodes authenticate: certificates from
// the cluster CA when we hold it (our cluster, or a 'hollowmark up' run
// directory beside the kubeconfig), else certificates bootstrapped through
// CSRs as kubelets do, else the kubeconfig's own identity. cleanup removes
// what bootstrapping created once the nodes have their certificates.
func ChooseCredentials(ctx context.Context, c Cluster, log *zap.Logger) (Credentials, func(context.Context), error) {
	none := func(context.Context) {}
	ca := c.Authority
	if ca == nil && c.KubeconfigPath != "" {
		ca = AuthorityBeside(c.KubeconfigPath, log)
	}
	if ca != nil {
		creds, err := CredentialsFromConfig(c.Config, ca)
		return creds, none, err
	}
	creds, cleanup, err := BootstrapCredentials(ctx, c.Config)
	if err == nil {
		return creds, cleanup, nil
	}
	log.Warn("cannot bootstrap node certificates; falling back to the kubeconfig's identity", zap.Error(err))
	creds, err = CredentialsFromConfig(c.Config, nil)
	return creds, none, err
}

// AuthorityBeside finds the CA of a `hollowmark up` run directory next to
// the kubeconfig, so that nodes joining it get certificates of their own.
func AuthorityBeside(kubeconfig string, log *zap.Logger) *pki.Authority {
	dir := filepath.Join(filepath.Dir(kubeconfig), "pki")
	if _, err := os.Stat(filepath.Join(dir, "ca.key")); err != nil {
		return nil
	}
	ca, err := pki.LoadAuthority(dir)
	if err != nil {
		log.Warn("ignoring CA beside the kubeconfig", zap.Error(err))
		return nil
	}
	cfg, err := clientcmd.LoadFromFile(kubeconfig)
	if err != nil {
		return nil
	}
	for _, cluster := range cfg.Clusters {
		if string(cluster.CertificateAuthorityData) == string(ca.CertPEM) {
			log.Info("using the cluster CA of the hollowmark run directory", zap.String("dir", dir))
			return ca
		}
	}
	return nil
}
