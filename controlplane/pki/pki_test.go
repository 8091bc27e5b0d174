package pki_test

import (
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/hollowmark/hollowmark/controlplane/pki"
)

func parse(t *testing.T, certPEM []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(certPEM)
	if block == nil {
		t.Fatal("no PEM block")
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func verify(t *testing.T, ca *pki.Authority, c *x509.Certificate, usage x509.ExtKeyUsage, dnsName string) {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	if _, err := c.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{usage}, DNSName: dnsName}); err != nil {
		t.Fatalf("certificate does not verify against the CA: %v", err)
	}
}

func TestClientCertificateCarriesUserAndGroups(t *testing.T) {
	ca, err := pki.NewAuthority("test-ca")
	if err != nil {
		t.Fatal(err)
	}
	pair, err := ca.IssueClient("system:node:n1", "system:nodes")
	if err != nil {
		t.Fatal(err)
	}
	c := parse(t, pair.CertPEM)
	verify(t, ca, c, x509.ExtKeyUsageClientAuth, "")
	if c.Subject.CommonName != "system:node:n1" || !slices.Equal(c.Subject.Organization, []string{"system:nodes"}) {
		t.Errorf("subject %v, want CN=system:node:n1 O=system:nodes", c.Subject)
	}
	if c.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("key algorithm %v, want ECDSA", c.PublicKeyAlgorithm)
	}
}

func TestServingCertificateCoversAddresses(t *testing.T) {
	ca, err := pki.NewAuthority("test-ca")
	if err != nil {
		t.Fatal(err)
	}
	pair, err := ca.IssueServing("apiserver", []net.IP{net.ParseIP("127.0.0.1")}, []string{"kubernetes.default"})
	if err != nil {
		t.Fatal(err)
	}
	c := parse(t, pair.CertPEM)
	verify(t, ca, c, x509.ExtKeyUsageServerAuth, "kubernetes.default")
	verify(t, ca, c, x509.ExtKeyUsageServerAuth, "127.0.0.1")
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	if _, err := c.Verify(x509.VerifyOptions{Roots: pool, DNSName: "elsewhere.example"}); err == nil {
		t.Error("serving certificate verifies for a name it was not issued for")
	}
}

func TestWriteKeepsKeysPrivate(t *testing.T) {
	ca, err := pki.NewAuthority("test-ca")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "pki")
	certPath, keyPath, err := ca.Pair().Write(dir, "ca")
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, keyPath: 0o600} {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != want {
			t.Errorf("%s mode %v, want %v", path, info.Mode().Perm(), want)
		}
	}
	if _, err := os.Stat(certPath); err != nil {
		t.Error(err)
	}
	key, err := pki.NewSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	certPath, _, err = key.Write(dir, "sa")
	if err != nil || certPath != "" {
		t.Errorf("writing a bare key: cert path %q, err %v", certPath, err)
	}
}

func TestPeerCertificateServesAndAuthenticates(t *testing.T) {
	ca, err := pki.NewAuthority("test-ca")
	if err != nil {
		t.Fatal(err)
	}
	pair, err := ca.IssuePeer("etcd", []net.IP{net.ParseIP("127.0.0.1")}, []string{"localhost"})
	if err != nil {
		t.Fatal(err)
	}
	c := parse(t, pair.CertPEM)
	verify(t, ca, c, x509.ExtKeyUsageServerAuth, "127.0.0.1")
	verify(t, ca, c, x509.ExtKeyUsageClientAuth, "")
}
