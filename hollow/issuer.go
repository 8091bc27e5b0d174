package hollow

import (
	"context"
	"crypto/tls"
	"fmt"

	"github.com/hollowmark/hollowmark/controlplane/pki"
)

// Issuer gives hollow nodes identities of their own: each kubelet a
// system:node:<name> certificate, so that the Node authorizer and
// NodeRestriction treat it as that node, and the proxies a system:kube-proxy
// certificate.
type Issuer interface {
	NodeCertificate(ctx context.Context, node string) (tls.Certificate, error)
	ProxyCertificate(ctx context.Context) (tls.Certificate, error)
	// Describe says how certificates are obtained, for the log.
	Describe() string
}

// AuthorityIssuer signs node certificates with the cluster's CA, which we
// hold when we started the cluster.
func AuthorityIssuer(ca *pki.Authority) Issuer { return authorityIssuer{ca} }

type authorityIssuer struct{ ca *pki.Authority }

func (a authorityIssuer) NodeCertificate(_ context.Context, node string) (tls.Certificate, error) {
	cert, err := a.ca.IssueClientTLS("system:node:"+node, "system:nodes")
	if err != nil {
		return cert, fmt.Errorf("issuing certificate for %s: %w", node, err)
	}
	return cert, nil
}

func (a authorityIssuer) ProxyCertificate(context.Context) (tls.Certificate, error) {
	cert, err := a.ca.IssueClientTLS("system:kube-proxy")
	if err != nil {
		return cert, fmt.Errorf("issuing kube-proxy certificate: %w", err)
	}
	return cert, nil
}

func (authorityIssuer) Describe() string { return "signed with the cluster CA" }
