// Package ociimage builds container images from a few files, with no
// Docker daemon and no base image, and writes them as one archive that
// `podman load`, `ctr images import` and `crane push` all read: an OCI
// image layout (oci-layout, index.json, blobs/) with a Docker manifest.json
// beside it pointing at the same blobs, the shape `docker save` has written
// since Docker 25. go-containerregistry computes the layers, config,
// manifest and digests and writes the layout.
package ociimage

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Annotations of an index entry naming the image: containerd and podman
// read the full reference from the first, OCI tools the second.
const (
	AnnotationImageName = "io.containerd.image.name"
	AnnotationRefName   = "org.opencontainers.image.ref.name"
)

// File is one entry of the image's single layer.
type File struct {
	// Path inside the image, without a leading slash.
	Path string
	// Mode holds the permission bits; Dir says it is a directory.
	Mode     fs.FileMode
	Dir      bool
	Data     []byte
	UID, GID int
}

// Spec describes an image.
type Spec struct {
	Files      []File
	Entrypoint []string
	// User is "uid:gid" (numeric: the image has no /etc/passwd).
	User       string
	WorkingDir string
	Env        []string
	Labels     map[string]string
	// Created is the image's creation time; the zero time is the epoch,
	// which keeps builds of the same files reproducible.
	Created time.Time
}

// Build makes a single-layer linux image of the host's architecture.
func Build(spec Spec, arch string) (v1.Image, error) {
	layerTar, err := layerTar(spec.Files, spec.Created)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("image layer: %w", err)
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{Layer: layer, History: v1.History{
		Created: v1.Time{Time: spec.Created.UTC()}, CreatedBy: "hollowmark ociimage: " + strings.Join(paths(spec.Files), " "),
	}})
	if err != nil {
		return nil, fmt.Errorf("appending the image layer: %w", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", arch
	cfg.Created = v1.Time{Time: spec.Created.UTC()}
	cfg.Config = v1.Config{Entrypoint: spec.Entrypoint, User: spec.User, WorkingDir: spec.WorkingDir, Env: spec.Env, Labels: spec.Labels}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	return img, nil
}

func paths(files []File) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = "/" + f.Path
	}
	return out
}

// layerTar is the layer's uncompressed tar, directories before what they
// hold and every time set to created.
func layerTar(files []File, created time.Time) ([]byte, error) {
	sorted := slices.Clone(files)
	slices.SortFunc(sorted, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	var buf bytes.Buffer
	w := tar.NewWriter(&buf)
	for _, f := range sorted {
		if f.Path == "" || strings.HasPrefix(f.Path, "/") || path.Clean(f.Path) != f.Path {
			return nil, fmt.Errorf("image file %q: want a clean relative path", f.Path)
		}
		h := &tar.Header{Name: f.Path, Mode: int64(f.Mode.Perm()), Uid: f.UID, Gid: f.GID, ModTime: created.UTC(), Format: tar.FormatPAX}
		if f.Dir {
			h.Typeflag, h.Name = tar.TypeDir, f.Path+"/"
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.Data))
		}
		if err := w.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("image layer, %s: %w", f.Path, err)
		}
		if _, err := w.Write(f.Data); err != nil {
			return nil, fmt.Errorf("image layer, %s: %w", f.Path, err)
		}
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("image layer: %w", err)
	}
	return buf.Bytes(), nil
}

// WriteArchive writes img to path as an OCI layout archive with a Docker
// manifest.json, naming it with every reference in names (e.g.
// "localhost/hollowmark:v1.2"). The archive is written to a temporary file
// and renamed, so a failed write leaves no half archive.
func WriteArchive(path string, img v1.Image, names []string) error {
	if len(names) == 0 {
		return fmt.Errorf("image archive %s: no image name", path)
	}
	dir, err := os.MkdirTemp(filepath.Dir(path), ".oci-layout-")
	if err != nil {
		return fmt.Errorf("image archive: %w", err)
	}
	defer os.RemoveAll(dir)
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("writing the OCI layout: %w", err)
	}
	for _, name := range names {
		tag := name[strings.LastIndex(name, ":")+1:]
		if err := lp.AppendImage(img, layout.WithAnnotations(map[string]string{AnnotationImageName: name, AnnotationRefName: tag})); err != nil {
			return fmt.Errorf("writing the OCI layout: %w", err)
		}
	}
	manifest, err := dockerManifest(img, names)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := tarDir(tmp, dir, map[string][]byte{"manifest.json": manifest}); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing image archive %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing image archive %s: %w", path, err)
	}
	return nil
}

// dockerManifest is `docker save`'s manifest.json for img, pointing at the
// OCI layout's blobs.
func dockerManifest(img v1.Image, names []string) ([]byte, error) {
	cfg, err := img.ConfigName()
	if err != nil {
		return nil, fmt.Errorf("image config digest: %w", err)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("image layers: %w", err)
	}
	entry := struct {
		Config   string
		RepoTags []string
		Layers   []string
	}{Config: blobPath(cfg), RepoTags: names}
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return nil, fmt.Errorf("image layer digest: %w", err)
		}
		entry.Layers = append(entry.Layers, blobPath(d))
	}
	return json.Marshal([]any{entry})
}

func blobPath(h v1.Hash) string { return "blobs/" + h.Algorithm + "/" + h.Hex }

// tarDir writes the files below dir, in name order, and extra, to a tar
// file at out.
func tarDir(out, dir string, extra map[string][]byte) error {
	entries := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		entries[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		return err
	}
	for name, data := range extra {
		entries[name] = data
	}
	names := make([]string, 0, len(entries))
	for name := range entries {
		names = append(names, name)
	}
	slices.Sort(names)
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	w := tar.NewWriter(f)
	for _, name := range names {
		if err = w.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(entries[name])), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}); err != nil {
			break
		}
		if _, err = w.Write(entries[name]); err != nil {
			break
		}
	}
	if err == nil {
		err = w.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// StaticBinary reads an executable for an image with nothing else in it:
// it must be a statically linked ELF file (no program interpreter, which an
// image without a libc could not run).
func StaticBinary(file, inImage string) (File, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return File{}, fmt.Errorf("reading %s for the image: %w", file, err)
	}
	exe, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return File{}, fmt.Errorf("%s: not an ELF executable: %w", file, err)
	}
	defer exe.Close()
	for _, p := range exe.Progs {
		if p.Type == elf.PT_INTERP {
			return File{}, fmt.Errorf("%s is dynamically linked (build it with CGO_ENABLED=0): an image without a libc cannot run it", file)
		}
	}
	return File{Path: inImage, Mode: 0o755, Data: data}, nil
}
