package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// writeImageArchive writes a docker-save image archive (manifest.json, the
// image config, one uncompressed layer) holding binary as /<name>, its
// entrypoint, tagged with every name in tags; `ctr images import` reads it.
// No registry is reachable, so this is how the pause image gets into
// containerd.
func writeImageArchive(path, binary string, tags []string) error {
	bin, err := os.ReadFile(binary)
	if err != nil {
		return fmt.Errorf("reading %s for the image: %w", binary, err)
	}
	name := filepath.Base(binary)
	epoch := time.Unix(0, 0).UTC()

	var layer bytes.Buffer
	lw := tar.NewWriter(&layer)
	if err := lw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(bin)), ModTime: epoch, Typeflag: tar.TypeReg}); err != nil {
		return fmt.Errorf("image layer: %w", err)
	}
	if _, err := lw.Write(bin); err != nil {
		return fmt.Errorf("image layer: %w", err)
	}
	if err := lw.Close(); err != nil {
		return fmt.Errorf("image layer: %w", err)
	}
	layerSum := sha256.Sum256(layer.Bytes())
	diffID := "sha256:" + hex.EncodeToString(layerSum[:])

	config, err := json.Marshal(map[string]any{
		"architecture": runtime.GOARCH,
		"os":           "linux",
		"created":      epoch.Format(time.RFC3339),
		"config":       map[string]any{"Entrypoint": []string{"/" + name}},
		"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{diffID}},
		"history":      []map[string]any{{"created": epoch.Format(time.RFC3339), "created_by": "hollowmark reference: " + name}},
	})
	if err != nil {
		return fmt.Errorf("image config: %w", err)
	}
	configSum := sha256.Sum256(config)
	configName := hex.EncodeToString(configSum[:]) + ".json"
	layerName := hex.EncodeToString(layerSum[:]) + "/layer.tar"
	manifest, err := json.Marshal([]map[string]any{{"Config": configName, "RepoTags": tags, "Layers": []string{layerName}}})
	if err != nil {
		return fmt.Errorf("image manifest: %w", err)
	}

	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("creating image archive: %w", err)
	}
	w := tar.NewWriter(f)
	for _, e := range []struct {
		name string
		data []byte
	}{{configName, config}, {layerName, layer.Bytes()}, {"manifest.json", manifest}} {
		if err == nil {
			err = w.WriteHeader(&tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.data)), ModTime: epoch, Typeflag: tar.TypeReg})
		}
		if err == nil {
			_, err = w.Write(e.data)
		}
	}
	if err == nil {
		err = w.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing image archive %s: %w", path, err)
	}
	return nil
}
