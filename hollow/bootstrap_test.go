package hollow_test

import (
	"context"
	"strings"
	"testing"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/hollowmark/hollowmark/hollow"
)

// Without the cluster CA, nodes get their certificates as kubelets do:
// bootstrap token, CSR, approval by the controller-manager, signing.
func TestNodesBootstrapCertificatesWithoutTheCA(t *testing.T) {
	cp := shared.Get(t)
	ctx := context.Background()
	creds, cleanup, err := hollow.BootstrapCredentials(ctx, cp.Config)
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup(ctx)
	pool, err := hollow.StartPool(ctx, creds, hollow.PoolConfig{Count: 2, Shards: 1, NamePrefix: "bs-", Concurrency: 2, Node: fastConfig()},
		hollow.NewMetrics(), nil, testLogger(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	client := kubernetes.NewForConfigOrDie(cp.Config)
	t.Cleanup(func() {
		pool.Stop()
		hollow.DeleteNodes(context.Background(), client, pool.Names())
	})
	csrs, err := client.CertificatesV1().CertificateSigningRequests().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	issued := 0
	for _, r := range csrs.Items {
		if r.Spec.SignerName != certificatesv1.KubeAPIServerClientKubeletSignerName || !strings.HasPrefix(r.Spec.Username, "system:bootstrap:") {
			continue
		}
		for _, c := range r.Status.Conditions {
			if c.Type == certificatesv1.CertificateApproved && len(r.Status.Certificate) > 0 {
				issued++
			}
		}
	}
	if issued != 2 {
		t.Errorf("%d kubelet CSRs from the bootstrap token approved and issued, want 2", issued)
	}
	c := &cluster{cp: cp, client: client}
	ns := c.namespace(t, "bootstrap")
	if _, err := client.CoreV1().Pods(ns).Create(ctx, podOn("boot", "bs-1", nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c.waitPod(t, ns, "boot", "a pod on a bootstrapped node to run", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
}
