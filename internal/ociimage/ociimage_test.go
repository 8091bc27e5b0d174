package ociimage

import (
	"archive/tar"
	"encoding/binary"
	"fmt"
	"io"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

func testImage(t *testing.T) v1.Image {
	t.Helper()
	img, err := Build(Spec{
		Files: []File{
			{Path: "hollowmark", Mode: 0o755, Data: []byte("binary")},
			{Path: "home/hollowmark", Dir: true, Mode: 0o700, UID: 65532, GID: 65532},
			{Path: "home", Dir: true, Mode: 0o755},
		},
		Entrypoint: []string{"/hollowmark"},
		User:       "65532:65532",
		Labels:     map[string]string{"org.opencontainers.image.revision": "abc123"},
	}, runtime.GOARCH)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// untar extracts an archive into a new directory.
func untar(t *testing.T, archive string) string {
	t.Helper()
	dir := t.TempDir()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return dir
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, h.Name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestArchiveIsAnOCILayoutNamingTheImage(t *testing.T) {
	img := testImage(t)
	archive := filepath.Join(t.TempDir(), "image.tar")
	if err := WriteArchive(archive, img, []string{"localhost/hollowmark:v1.2-3-gabc"}); err != nil {
		t.Fatal(err)
	}
	idx, err := layout.ImageIndexFromPath(untar(t, archive))
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	if len(m.Manifests) != 1 || m.Manifests[0].Digest != want {
		t.Fatalf("index = %+v, want one manifest %s", m.Manifests, want)
	}
	if a := m.Manifests[0].Annotations; a[AnnotationImageName] != "localhost/hollowmark:v1.2-3-gabc" || a[AnnotationRefName] != "v1.2-3-gabc" {
		t.Errorf("annotations = %v", a)
	}
	got, err := idx.Image(want)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(got); err != nil {
		t.Fatalf("the layout's image does not validate: %v", err)
	}
	cfg, err := got.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Config.User != "65532:65532" || cfg.Config.Labels["org.opencontainers.image.revision"] != "abc123" || cfg.OS != "linux" {
		t.Errorf("config = %+v", cfg.Config)
	}
}

// crane push reads a tar file as a docker-save archive (manifest.json):
// the same archive must load that way and survive a round trip through a
// registry.
func TestArchiveLoadsAsDockerSaveAndPushes(t *testing.T) {
	img := testImage(t)
	archive := filepath.Join(t.TempDir(), "image.tar")
	if err := WriteArchive(archive, img, []string{"localhost/hollowmark:v1"}); err != nil {
		t.Fatal(err)
	}
	loaded, err := tarball.ImageFromPath(archive, nil)
	if err != nil {
		t.Fatalf("loading as docker-save: %v", err)
	}
	if err := validate.Image(loaded); err != nil {
		t.Fatalf("loaded image does not validate: %v", err)
	}
	wantCfg, _ := img.ConfigName()
	if got, _ := loaded.ConfigName(); got != wantCfg {
		t.Fatalf("config %s, want %s", got, wantCfg)
	}
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	ref, err := name.ParseReference(u.Host + "/hollowmark:v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, loaded); err != nil {
		t.Fatalf("pushing: %v", err)
	}
	pulled, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	layers, _ := pulled.Layers()
	wantLayers, _ := img.Layers()
	if len(layers) != 1 {
		t.Fatalf("pulled %d layers", len(layers))
	}
	got, _ := layers[0].DiffID()
	want, _ := wantLayers[0].DiffID()
	if got != want {
		t.Errorf("pulled layer %s, want %s", got, want)
	}
}

func TestLayerHoldsTheFilesWithOwnersAndModes(t *testing.T) {
	layers, err := testImage(t).Layers()
	if err != nil {
		t.Fatal(err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var got []string
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s %c %o %d:%d", h.Name, h.Typeflag, h.Mode, h.Uid, h.Gid))
	}
	// Sorted by path, so that a directory comes before what it holds.
	want := []string{"hollowmark 0 755 0:0", "home/ 5 755 0:0", "home/hollowmark/ 5 700 65532:65532"}
	if !slices.Equal(got, want) {
		t.Errorf("layer = %q, want %q", got, want)
	}
}

func TestStaticBinary(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		data    []byte
		wantErr string
	}{
		{"static", elfHeader(0), ""},
		{"not ELF", []byte("#!/bin/sh\n"), "not an ELF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, tt.name)
			if err := os.WriteFile(p, tt.data, 0o755); err != nil {
				t.Fatal(err)
			}
			f, err := StaticBinary(p, "x")
			if tt.wantErr == "" {
				if err != nil || f.Path != "x" || f.Mode != 0o755 {
					t.Fatalf("StaticBinary = %+v, %v", f, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
	if _, err := StaticBinary("/bin/sh", "sh"); err == nil || !strings.Contains(err.Error(), "dynamically linked") {
		t.Errorf("/bin/sh: err = %v, want dynamically linked", err)
	}
}

// elfHeader is a 64-bit little-endian ELF header with phnum program headers
// (none: a file the ELF reader accepts, with no interpreter).
func elfHeader(phnum uint16) []byte {
	h := make([]byte, 64)
	copy(h, "\x7fELF\x02\x01\x01")
	binary.LittleEndian.PutUint16(h[16:], 2)    // ET_EXEC
	binary.LittleEndian.PutUint16(h[18:], 0x3e) // x86-64
	binary.LittleEndian.PutUint32(h[20:], 1)
	binary.LittleEndian.PutUint16(h[52:], 64) // ehsize
	binary.LittleEndian.PutUint16(h[54:], 56) // phentsize
	binary.LittleEndian.PutUint16(h[56:], phnum)
	binary.LittleEndian.PutUint16(h[58:], 64) // shentsize
	return h
}
