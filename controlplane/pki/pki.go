// Package pki makes the certificate authority and the certificates a
// hollowmark control plane and its hollow nodes authenticate with.
//
// Keys are ECDSA P-256: a node pool issues one client certificate per hollow
// node, and P-256 keys take microseconds where RSA-2048 takes tens of
// milliseconds, which matters at thousands of nodes.
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/keyutil"
)

// validity is long enough for any soak run and short enough to be obviously
// throwaway material.
const validity = 365 * 24 * time.Hour

// Authority is a certificate authority that signs every certificate of one
// control plane.
type Authority struct {
	Cert    *x509.Certificate
	Key     crypto.Signer
	CertPEM []byte
	KeyPEM  []byte
}

// KeyPair is a PEM-encoded certificate and its private key.
type KeyPair struct {
	CertPEM []byte
	KeyPEM  []byte
}

// NewAuthority creates a self-signed CA named commonName.
func NewAuthority(commonName string) (*Authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating CA key: %w", err)
	}
	caCert, err := cert.NewSelfSignedCACert(cert.Config{CommonName: commonName}, key)
	if err != nil {
		return nil, fmt.Errorf("self-signing CA %q: %w", commonName, err)
	}
	certPEM, err := cert.EncodeCertificates(caCert)
	if err != nil {
		return nil, fmt.Errorf("encoding CA certificate: %w", err)
	}
	keyPEM, err := keyutil.MarshalPrivateKeyToPEM(key)
	if err != nil {
		return nil, fmt.Errorf("encoding CA key: %w", err)
	}
	return &Authority{Cert: caCert, Key: key, CertPEM: certPEM, KeyPEM: keyPEM}, nil
}

// IssueClient signs a client certificate. Kubernetes reads the user name from
// the common name and the groups from the organizations.
func (a *Authority) IssueClient(commonName string, groups ...string) (KeyPair, error) {
	return a.issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: commonName, Organization: groups},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
}

// IssueServing signs a serving certificate valid for the given addresses and
// host names.
func (a *Authority) IssueServing(commonName string, ips []net.IP, dnsNames []string) (KeyPair, error) {
	return a.issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: commonName},
		IPAddresses: ips,
		DNSNames:    dnsNames,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
}

// IssuePeer signs a certificate that serves and authenticates as a client
// alike, as an etcd member presents to its peers.
func (a *Authority) IssuePeer(commonName string, ips []net.IP, dnsNames []string) (KeyPair, error) {
	return a.issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: commonName},
		IPAddresses: ips,
		DNSNames:    dnsNames,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	})
}

// IssueClientTLS signs a client certificate and returns it ready for a TLS
// client, without PEM copies or a parsed leaf: a node pool keeps thousands.
func (a *Authority) IssueClientTLS(commonName string, groups ...string) (tls.Certificate, error) {
	der, key, err := a.sign(&x509.Certificate{
		Subject:     pkix.Name{CommonName: commonName, Organization: groups},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

func (a *Authority) sign(tmpl *x509.Certificate) ([]byte, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generating key for %q: %w", tmpl.Subject.CommonName, err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(math.MaxInt64))
	if err != nil {
		return nil, nil, fmt.Errorf("choosing serial number: %w", err)
	}
	now := time.Now()
	tmpl.SerialNumber = serial
	tmpl.NotBefore = now.Add(-time.Minute).UTC()
	tmpl.NotAfter = now.Add(validity).UTC()
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.Cert, key.Public(), a.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("signing certificate for %q: %w", tmpl.Subject.CommonName, err)
	}
	return der, key, nil
}

func (a *Authority) issue(tmpl *x509.Certificate) (KeyPair, error) {
	der, key, err := a.sign(tmpl)
	if err != nil {
		return KeyPair{}, err
	}
	keyPEM, err := keyutil.MarshalPrivateKeyToPEM(key)
	if err != nil {
		return KeyPair{}, fmt.Errorf("encoding key for %q: %w", tmpl.Subject.CommonName, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return KeyPair{}, fmt.Errorf("parsing certificate for %q: %w", tmpl.Subject.CommonName, err)
	}
	certPEM, err := cert.EncodeCertificates(leaf)
	if err != nil {
		return KeyPair{}, fmt.Errorf("encoding certificate for %q: %w", tmpl.Subject.CommonName, err)
	}
	return KeyPair{CertPEM: certPEM, KeyPEM: keyPEM}, nil
}

// NewSigningKey makes the key pair the API server signs service-account
// tokens with.
func NewSigningKey() (KeyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return KeyPair{}, fmt.Errorf("generating signing key: %w", err)
	}
	keyPEM, err := keyutil.MarshalPrivateKeyToPEM(key)
	if err != nil {
		return KeyPair{}, fmt.Errorf("encoding signing key: %w", err)
	}
	return KeyPair{KeyPEM: keyPEM}, nil
}

// Write stores the pair as dir/name.crt and dir/name.key, leaving out the
// half it does not hold (a bare signing key, a CA whose key nobody else
// needs). Keys are written 0600; the directory is created 0700 so that
// nobody else can list it.
func (p KeyPair) Write(dir, name string) (certPath, keyPath string, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", fmt.Errorf("creating %s: %w", dir, err)
	}
	if len(p.KeyPEM) > 0 {
		keyPath = filepath.Join(dir, name+".key")
		if err := keyutil.WriteKey(keyPath, p.KeyPEM); err != nil {
			return "", "", fmt.Errorf("writing %s: %w", keyPath, err)
		}
	}
	if len(p.CertPEM) == 0 {
		return "", keyPath, nil
	}
	certPath = filepath.Join(dir, name+".crt")
	if err := cert.WriteCert(certPath, p.CertPEM); err != nil {
		return "", "", fmt.Errorf("writing %s: %w", certPath, err)
	}
	return certPath, keyPath, nil
}

// Pair returns the authority's own certificate and key as a KeyPair.
func (a *Authority) Pair() KeyPair {
	return KeyPair{CertPEM: a.CertPEM, KeyPEM: a.KeyPEM}
}

// LoadAuthority reads a CA written by Write (dir/ca.crt and dir/ca.key),
// such as the one in a `hollowmark up` run directory.
func LoadAuthority(dir string) (*Authority, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		return nil, fmt.Errorf("reading CA certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, "ca.key"))
	if err != nil {
		return nil, fmt.Errorf("reading CA key: %w", err)
	}
	certs, err := cert.ParseCertsPEM(certPEM)
	if err != nil || len(certs) == 0 {
		return nil, fmt.Errorf("parsing %s: %v", filepath.Join(dir, "ca.crt"), err)
	}
	key, err := keyutil.ParsePrivateKeyPEM(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", filepath.Join(dir, "ca.key"), err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s holds no signing key", filepath.Join(dir, "ca.key"))
	}
	return &Authority{Cert: certs[0], Key: signer, CertPEM: certPEM, KeyPEM: keyPEM}, nil
}
