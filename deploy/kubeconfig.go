package deploy

import (
	"fmt"
	"os"
	"strings"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// TargetKubeconfig makes the Secret's kubeconfig from the operator's: its
// current context only, with every file it names (CA, client certificate
// and key, token file) inlined, and the server replaced by server if set
// (the target as the base cluster's pods reach it). Its identity, a client
// certificate or a token, is what the shards bootstrap node certificates
// with (or, failing that, what every node uses).
func TargetKubeconfig(path, server string) ([]byte, error) {
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the target kubeconfig: %w", err)
	}
	if err := clientcmdapi.MinifyConfig(cfg); err != nil {
		return nil, fmt.Errorf("target kubeconfig %s: %w", path, err)
	}
	if err := clientcmdapi.FlattenConfig(cfg); err != nil {
		return nil, fmt.Errorf("target kubeconfig %s: inlining its files: %w", path, err)
	}
	for name, a := range cfg.AuthInfos {
		if a.Exec != nil || a.AuthProvider != nil {
			return nil, fmt.Errorf("target kubeconfig %s: user %q authenticates through a plugin, which the shards' pods do not have; give a kubeconfig with a client certificate or a token", path, name)
		}
		if a.TokenFile != "" {
			token, err := os.ReadFile(a.TokenFile)
			if err != nil {
				return nil, fmt.Errorf("target kubeconfig %s: user %q: %w", path, name, err)
			}
			a.Token, a.TokenFile = strings.TrimSpace(string(token)), ""
		}
		if len(a.ClientCertificateData) == 0 && a.Token == "" {
			return nil, fmt.Errorf("target kubeconfig %s: user %q has neither a client certificate nor a token", path, name)
		}
	}
	if server != "" {
		for _, c := range cfg.Clusters {
			c.Server = server
		}
	}
	out, err := clientcmd.Write(*cfg)
	if err != nil {
		return nil, fmt.Errorf("encoding the target kubeconfig: %w", err)
	}
	return out, nil
}
