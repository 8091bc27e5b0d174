package controlplane_test

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hollowmark/hollowmark/controlplane"
	"github.com/hollowmark/hollowmark/internal/testenv"
)

func componentURL(t *testing.T, cp *controlplane.ControlPlane, name string) string {
	t.Helper()
	for _, c := range cp.Record.Components {
		if c.Name == name {
			return c.URL
		}
	}
	t.Fatalf("no %s in the run record", name)
	return ""
}

// TestEtcdAdmitsOnlyItsOwnClients reads every key under /registry/ (Secrets
// among them) as an attacker on the machine would try to.
func TestEtcdAdmitsOnlyItsOwnClients(t *testing.T) {
	cp := shared.Get(t)
	pkiDir := filepath.Join(filepath.Dir(cp.KubeconfigPath), "pki")
	etcdURL := componentURL(t, cp, controlplane.Etcd)
	if !strings.HasPrefix(etcdURL, "https://127.0.0.1:") {
		t.Fatalf("etcd serves %s, want https on loopback", etcdURL)
	}
	caPEM, err := os.ReadFile(filepath.Join(pkiDir, "etcd-ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	etcdCA := x509.NewCertPool()
	etcdCA.AppendCertsFromPEM(caPEM)
	apiServerCert, err := tls.LoadX509KeyPair(filepath.Join(pkiDir, "kube-apiserver-etcd-client.crt"), filepath.Join(pkiDir, "kube-apiserver-etcd-client.key"))
	if err != nil {
		t.Fatal(err)
	}
	adminCert, err := tls.X509KeyPair(cp.Config.CertData, cp.Config.KeyData)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		url    string
		tls    *tls.Config
		wantOK bool
	}{
		{"plain HTTP", strings.Replace(etcdURL, "https://", "http://", 1), nil, false},
		{"TLS without a client certificate", etcdURL, &tls.Config{RootCAs: etcdCA}, false},
		{"a client certificate of the cluster CA", etcdURL, &tls.Config{RootCAs: etcdCA, Certificates: []tls.Certificate{adminCert}}, false},
		{"the API server's etcd client certificate", etcdURL, &tls.Config{RootCAs: etcdCA, Certificates: []tls.Certificate{apiServerCert}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tt.tls}}
			// keys_only: the answer proves access without carrying values.
			body := `{"key":"L3JlZ2lzdHJ5Lw==","range_end":"L3JlZ2lzdHJ5MA==","keys_only":true,"limit":1}`
			resp, err := client.Post(tt.url+"/v3/kv/range", "application/json", strings.NewReader(body))
			ok := false
			var answer []byte
			if err == nil {
				answer, _ = io.ReadAll(io.LimitReader(resp.Body, 4096))
				resp.Body.Close()
				ok = resp.StatusCode == http.StatusOK && strings.Contains(string(answer), `"kvs"`)
			}
			if ok != tt.wantOK {
				t.Errorf("read of /registry/ succeeded: %v, want %v (err %v, answer %q)", ok, tt.wantOK, err, answer)
			}
		})
	}
}

func TestLogsHoldNoCredentials(t *testing.T) {
	cp := shared.Get(t)
	testenv.CheckNoCredentials(t, filepath.Dir(cp.KubeconfigPath), "")
}
