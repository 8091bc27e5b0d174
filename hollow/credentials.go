package hollow

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"strings"

	"k8s.io/client-go/rest"

	"github.com/hollowmark/hollowmark/controlplane/pki"
)

// CredentialsFromConfig builds node credentials for the cluster of cfg.
// With ca (the cluster's CA, when we started the cluster) each node gets a
// certificate of its own; without, nodes fall back to cfg's identity, which
// must be a client certificate or a bearer token.
func CredentialsFromConfig(cfg *rest.Config, ca *pki.Authority) (Credentials, error) {
	creds := Credentials{Server: cfg.Host}
	if ca != nil {
		creds.Issuer = AuthorityIssuer(ca)
	}
	trustOnly, err := trustConfig(cfg)
	if err != nil {
		return creds, err
	}
	if ca != nil {
		creds.TLS = trustOnly
		return creds, nil
	}
	full, err := rest.TLSConfigFor(cfg)
	if err != nil {
		return creds, fmt.Errorf("TLS configuration for %s: %w", cfg.Host, err)
	}
	if full == nil {
		full = trustOnly
	}
	// client-go hands the certificate over through a callback; load it
	// once so that every node's handshake does not read the files again.
	if full.GetClientCertificate != nil {
		cert, err := full.GetClientCertificate(nil)
		if err != nil {
			return creds, fmt.Errorf("loading client certificate: %w", err)
		}
		if cert != nil && len(cert.Certificate) > 0 {
			full = full.Clone()
			full.GetClientCertificate = nil
			full.Certificates = []tls.Certificate{*cert}
		}
	}
	creds.TLS = full
	token := cfg.BearerToken
	if token == "" && cfg.BearerTokenFile != "" {
		data, err := os.ReadFile(cfg.BearerTokenFile)
		if err != nil {
			return creds, fmt.Errorf("reading bearer token: %w", err)
		}
		token = strings.TrimSpace(string(data))
	}
	if token != "" {
		creds.Authorization = "Bearer " + token
	}
	if len(full.Certificates) == 0 && token == "" {
		return creds, errors.New("the kubeconfig has neither a client certificate nor a token hollow nodes could use (exec and auth-provider plugins are not supported)")
	}
	return creds, nil
}

// trustConfig is how to trust cfg's API server, without cfg's identity.
func trustConfig(cfg *rest.Config) (*tls.Config, error) {
	if !strings.HasPrefix(cfg.Host, "https://") {
		return nil, fmt.Errorf("API server %s: hollow nodes need an https:// server", cfg.Host)
	}
	c, err := rest.TLSConfigFor(rest.AnonymousClientConfig(cfg))
	if err != nil {
		return nil, fmt.Errorf("TLS configuration for %s: %w", cfg.Host, err)
	}
	if c == nil {
		c = &tls.Config{}
	}
	return c, nil
}
