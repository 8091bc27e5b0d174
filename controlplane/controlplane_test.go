package controlplane_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/hollowmark/hollowmark/controlplane"
	"github.com/hollowmark/hollowmark/internal/testenv"
)

var shared testenv.Shared

func TestMain(m *testing.M) { os.Exit(shared.Run(m)) }

func adminClient(t *testing.T, cp *controlplane.ControlPlane) kubernetes.Interface {
	t.Helper()
	client, err := kubernetes.NewForConfig(cp.Config)
	if err != nil {
		t.Fatalf("admin client: %v", err)
	}
	return client
}

func TestReadyControlPlaneAnswersReadyz(t *testing.T) {
	cp := shared.Get(t)
	body, err := adminClient(t, cp).Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(context.Background())
	if err != nil {
		t.Fatalf("GET /readyz: %v", err)
	}
	if string(body) != "ok" {
		t.Fatalf("GET /readyz = %q, want ok", body)
	}
}

func TestRunRecordDescribesEveryComponent(t *testing.T) {
	cp := shared.Get(t)
	runDir := filepath.Dir(cp.KubeconfigPath)
	record, err := controlplane.ReadRecord(runDir)
	if err != nil {
		t.Fatal(err)
	}
	if record.StartupSeconds <= 0 {
		t.Errorf("startup time not recorded: %v", record.StartupSeconds)
	}
	if record.Server != cp.Config.Host || record.ServerVersion != controlplane.KubernetesVersion {
		t.Errorf("record names server %q version %q, want %q %s", record.Server, record.ServerVersion, cp.Config.Host, controlplane.KubernetesVersion)
	}
	wantVersion := map[string]string{
		controlplane.Etcd:              strings.TrimPrefix(controlplane.EtcdVersion, "v"),
		controlplane.APIServer:         controlplane.KubernetesVersion,
		controlplane.Scheduler:         controlplane.KubernetesVersion,
		controlplane.ControllerManager: controlplane.KubernetesVersion,
	}
	if len(record.Components) != len(wantVersion) {
		t.Fatalf("record has %d components, want %d", len(record.Components), len(wantVersion))
	}
	for _, c := range record.Components {
		if !strings.Contains(c.Version, wantVersion[c.Name]) {
			t.Errorf("%s version %q does not mention %s", c.Name, c.Version, wantVersion[c.Name])
		}
		if c.PID == 0 || len(c.Args) == 0 || c.URL == "" || c.ReadySeconds <= 0 {
			t.Errorf("%s record incomplete: %+v", c.Name, c)
		}
		if _, err := os.Stat(c.LogFile); err != nil {
			t.Errorf("%s log file: %v", c.Name, err)
		}
		if !strings.HasPrefix(c.URL, "http://127.0.0.1:") && !strings.HasPrefix(c.URL, "https://127.0.0.1:") {
			t.Errorf("%s listens on %s, want loopback", c.Name, c.URL)
		}
	}
}

func TestCredentialsArePrivate(t *testing.T) {
	cp := shared.Get(t)
	runDir := filepath.Dir(cp.KubeconfigPath)
	checkMode(t, filepath.Join(runDir, "pki"), 0o700)
	checkMode(t, cp.KubeconfigPath, 0o600)
	keys, _ := filepath.Glob(filepath.Join(runDir, "pki", "*.key"))
	kubeconfigs, _ := filepath.Glob(filepath.Join(runDir, "pki", "*.kubeconfig"))
	if len(keys) < 5 || len(kubeconfigs) != 2 {
		t.Fatalf("found %d keys and %d component kubeconfigs", len(keys), len(kubeconfigs))
	}
	for _, p := range append(keys, kubeconfigs...) {
		checkMode(t, p, 0o600)
	}
}

func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != want {
		t.Errorf("%s has mode %v, want %v", path, got, want)
	}
}

func TestAnonymousRequestsAreRefused(t *testing.T) {
	cp := shared.Get(t)
	pool := x509.NewCertPool()
	pool.AddCert(cp.Authority.Cert)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	for _, path := range []string{"/api/v1/namespaces", "/readyz", "/version"} {
		resp, err := client.Get(cp.Config.Host + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("anonymous GET %s = %s, want 401", path, resp.Status)
		}
	}
}

func TestAdminKubeconfigCreatesNamespace(t *testing.T) {
	cp := shared.Get(t)
	cfg, err := clientcmd.BuildConfigFromFlags("", cp.KubeconfigPath)
	if err != nil {
		t.Fatal(err)
	}
	client := kubernetes.NewForConfigOrDie(cfg)
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "admin-test"}}
	if _, err := client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating namespace with the admin kubeconfig: %v", err)
	}
	if _, err := client.CoreV1().Namespaces().Get(ctx, "admin-test", metav1.GetOptions{}); err != nil {
		t.Fatalf("reading it back: %v", err)
	}
}

func nodeClient(t *testing.T, cp *controlplane.ControlPlane, node string) kubernetes.Interface {
	t.Helper()
	pair, err := cp.Authority.IssueClient("system:node:"+node, "system:nodes")
	if err != nil {
		t.Fatal(err)
	}
	cfg := rest.AnonymousClientConfig(cp.Config)
	cfg.CertData, cfg.KeyData = pair.CertPEM, pair.KeyPEM
	return kubernetes.NewForConfigOrDie(cfg)
}

func TestNodeRestrictionKeepsNodesToThemselves(t *testing.T) {
	cp := shared.Get(t)
	ctx := context.Background()
	nodeA := nodeClient(t, cp, "node-a")
	for _, name := range []string{"node-a", "node-b"} {
		client := nodeA
		if name == "node-b" {
			client = adminClient(t, cp)
		}
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if _, err := client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating %s: %v", name, err)
		}
	}
	patch := []byte(`{"metadata":{"labels":{"hollowmark.test/touched":"yes"}}}`)
	if _, err := nodeA.CoreV1().Nodes().Patch(ctx, "node-a", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatalf("node-a patching itself: %v", err)
	}
	_, err := nodeA.CoreV1().Nodes().Patch(ctx, "node-b", types.MergePatchType, patch, metav1.PatchOptions{})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("node-a patching node-b: got %v, want Forbidden", err)
	}
	_, err = nodeA.CoreV1().Nodes().Patch(ctx, "node-b", types.MergePatchType, patch, metav1.PatchOptions{}, "status")
	if !apierrors.IsForbidden(err) {
		t.Fatalf("node-a patching node-b's status: got %v, want Forbidden", err)
	}
}

func TestTwoControlPlanesSideBySide(t *testing.T) {
	first := shared.Get(t)
	second := testenv.StartControlPlane(t, controlplane.Options{})
	if first.Config.Host == second.Config.Host {
		t.Fatalf("both control planes serve %s", first.Config.Host)
	}
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "only-in-second"}}
	if _, err := adminClient(t, second).CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := adminClient(t, first).CoreV1().Namespaces().Get(ctx, "only-in-second", metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		t.Fatalf("namespace of the second control plane seen by the first: %v", err)
	}
}

func TestAttachToRunningCluster(t *testing.T) {
	cp := shared.Get(t)
	attached, err := controlplane.Attach(context.Background(), cp.KubeconfigPath)
	if err != nil {
		t.Fatal(err)
	}
	if attached.Record.ServerVersion != controlplane.KubernetesVersion {
		t.Errorf("server version %q, want %s", attached.Record.ServerVersion, controlplane.KubernetesVersion)
	}
	if attached.Authority != nil {
		t.Error("attached control plane claims to hold the cluster CA")
	}
	if err := attached.Stop(); err != nil {
		t.Errorf("stopping an attached cluster: %v", err)
	}
	if _, err := adminClient(t, cp).Discovery().ServerVersion(); err != nil {
		t.Errorf("stopping the attachment stopped the cluster: %v", err)
	}
}
