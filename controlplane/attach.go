package controlplane

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"

	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// attachTimeout bounds the first contact with an existing cluster.
const attachTimeout = 15 * time.Second

// Attach uses an existing cluster through kubeconfigPath instead of starting
// one. It fails, naming the address and the reason, when the API server does
// not answer.
func Attach(ctx context.Context, kubeconfigPath string) (*ControlPlane, error) {
	path, err := filepath.Abs(kubeconfigPath)
	if err != nil {
		return nil, fmt.Errorf("resolving kubeconfig path: %w", err)
	}
	cfg, err := loadConfig(path)
	if err != nil {
		return nil, err
	}
	version, err := serverVersion(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &ControlPlane{
		KubeconfigPath: path,
		Config:         cfg,
		Record:         Record{Mode: "attached", Server: cfg.Host, ServerVersion: version, StartedAt: time.Now()},
	}, nil
}

func loadConfig(kubeconfigPath string) (*rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfigPath)
	if err != nil {
		return nil, fmt.Errorf("loading kubeconfig %s: %w", kubeconfigPath, err)
	}
	return cfg, nil
}

func serverVersion(ctx context.Context, cfg *rest.Config) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, attachTimeout)
	defer cancel()
	client, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return "", fmt.Errorf("creating client for %s: %w", cfg.Host, err)
	}
	body, err := client.RESTClient().Get().AbsPath("/version").Do(ctx).Raw()
	if err != nil {
		return "", fmt.Errorf("API server at %s unreachable: %w", cfg.Host, err)
	}
	var info version.Info
	if err := json.Unmarshal(body, &info); err != nil {
		return "", fmt.Errorf("reading version from %s: %w", cfg.Host, err)
	}
	return info.GitVersion, nil
}
