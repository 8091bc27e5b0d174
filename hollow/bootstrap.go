package hollow

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509/pkix"
	"fmt"
	"strings"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/certificate/csr"
	bootstrapapi "k8s.io/cluster-bootstrap/token/api"
	bootstraputil "k8s.io/cluster-bootstrap/token/util"
)

// bootstrapGroup is the extra group of hollowmark's bootstrap tokens; it is
// bound to the roles kubeadm binds to system:bootstrappers.
const (
	bootstrapGroup = "system:bootstrappers:hollowmark"
	tokenLifetime  = time.Hour
	issueTimeout   = 2 * time.Minute
)

// BootstrapCredentials prepares per-node certificates the way kubelet TLS
// bootstrapping does, for a cluster whose CA we do not hold: it creates a
// bootstrap token (with cfg's identity, which must be allowed to), and each
// node then asks for its certificate with a CertificateSigningRequest that
// the controller-manager approves and signs. cleanup deletes the token.
func BootstrapCredentials(ctx context.Context, cfg *rest.Config) (creds Credentials, cleanup func(context.Context), err error) {
	// Nodes only need to trust the server; the operator's identity, of any
	// kind client-go supports (exec plugins too), makes the token.
	trust, err := trustConfig(cfg)
	if err != nil {
		return creds, nil, err
	}
	admin, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return creds, nil, err
	}
	token, secretName, err := createBootstrapToken(ctx, admin)
	if err != nil {
		return creds, nil, err
	}
	cleanup = func(ctx context.Context) {
		admin.CoreV1().Secrets(metav1.NamespaceSystem).Delete(ctx, secretName, metav1.DeleteOptions{})
	}
	if err := bindBootstrapRoles(ctx, admin); err != nil {
		cleanup(ctx)
		return creds, nil, err
	}
	tokenCfg := rest.AnonymousClientConfig(cfg)
	tokenCfg.BearerToken = token
	tokenCfg.QPS, tokenCfg.Burst = 100, 200
	bootstrap, err := kubernetes.NewForConfig(tokenCfg)
	if err != nil {
		cleanup(ctx)
		return creds, nil, err
	}
	creds = Credentials{Server: cfg.Host, TLS: trust, Issuer: csrIssuer{bootstrap: bootstrap, admin: admin}}
	return creds, cleanup, nil
}

func createBootstrapToken(ctx context.Context, client kubernetes.Interface) (token, secretName string, err error) {
	token, err = bootstraputil.GenerateBootstrapToken()
	if err != nil {
		return "", "", fmt.Errorf("generating bootstrap token: %w", err)
	}
	id, secret, _ := strings.Cut(token, ".")
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: bootstraputil.BootstrapTokenSecretName(id), Namespace: metav1.NamespaceSystem},
		Type:       bootstrapapi.SecretTypeBootstrapToken,
		StringData: map[string]string{
			bootstrapapi.BootstrapTokenIDKey:               id,
			bootstrapapi.BootstrapTokenSecretKey:           secret,
			bootstrapapi.BootstrapTokenUsageAuthentication: "true",
			bootstrapapi.BootstrapTokenExtraGroupsKey:      bootstrapGroup,
			bootstrapapi.BootstrapTokenExpirationKey:       time.Now().Add(tokenLifetime).UTC().Format(time.RFC3339),
			bootstrapapi.BootstrapTokenDescriptionKey:      "hollowmark hollow node bootstrap",
		},
	}
	if _, err := client.CoreV1().Secrets(metav1.NamespaceSystem).Create(ctx, s, metav1.CreateOptions{}); err != nil {
		return "", "", fmt.Errorf("creating bootstrap token: %w", err)
	}
	return token, s.Name, nil
}

// bindBootstrapRoles lets the token's group create node CSRs and have them
// approved automatically, as kubeadm sets up for system:bootstrappers.
func bindBootstrapRoles(ctx context.Context, client kubernetes.Interface) error {
	for name, role := range map[string]string{
		"hollowmark:node-bootstrapper":          "system:node-bootstrapper",
		"hollowmark:node-autoapprove-bootstrap": "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
	} {
		crb := &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: bootstrapGroup}},
		}
		_, err := client.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("binding %s for bootstrap tokens: %w", role, err)
		}
	}
	return nil
}

// csrIssuer obtains certificates through the CertificateSigningRequest API.
type csrIssuer struct {
	bootstrap kubernetes.Interface // the bootstrap token's identity
	admin     kubernetes.Interface // the operator's identity
}

func (i csrIssuer) Describe() string {
	return "bootstrap token and CertificateSigningRequests, approved by the controller-manager"
}

func (i csrIssuer) NodeCertificate(ctx context.Context, node string) (tls.Certificate, error) {
	subject := pkix.Name{CommonName: "system:node:" + node, Organization: []string{"system:nodes"}}
	return i.request(ctx, i.bootstrap, subject, certificatesv1.KubeAPIServerClientKubeletSignerName, false)
}

// ProxyCertificate asks the general client signer, whose requests nothing
// approves automatically: the operator's identity approves it.
func (i csrIssuer) ProxyCertificate(ctx context.Context) (tls.Certificate, error) {
	return i.request(ctx, i.admin, pkix.Name{CommonName: "system:kube-proxy"}, certificatesv1.KubeAPIServerClientSignerName, true)
}

func (i csrIssuer) request(ctx context.Context, client kubernetes.Interface, subject pkix.Name, signer string, approve bool) (tls.Certificate, error) {
	ctx, cancel := context.WithTimeout(ctx, issueTimeout)
	defer cancel()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	csrPEM, err := cert.MakeCSR(key, &subject, nil, nil)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("making CSR for %s: %w", subject.CommonName, err)
	}
	usages := []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth}
	name, uid, err := csr.RequestCertificateWithContext(ctx, client, csrPEM, "", signer, nil, usages, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("requesting certificate for %s: %w", subject.CommonName, err)
	}
	if approve {
		if err := approveCSR(ctx, i.admin, name); err != nil {
			return tls.Certificate{}, err
		}
	}
	certPEM, err := csr.WaitForCertificate(ctx, client, name, uid)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("waiting for certificate of %s (CSR %s): %w", subject.CommonName, name, err)
	}
	certs, err := cert.ParseCertsPEM(certPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("parsing certificate of %s: %w", subject.CommonName, err)
	}
	out := tls.Certificate{PrivateKey: key}
	for _, c := range certs {
		out.Certificate = append(out.Certificate, c.Raw)
	}
	return out, nil
}

func approveCSR(ctx context.Context, client kubernetes.Interface, name string) error {
	req, err := client.CertificatesV1().CertificateSigningRequests().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("reading CSR %s: %w", name, err)
	}
	req.Status.Conditions = append(req.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
		Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue,
		Reason: "HollowmarkApproved", Message: "kube-proxy identity for hollow proxies",
	})
	if _, err := client.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, name, req, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("approving CSR %s: %w", name, err)
	}
	return nil
}
