// Command image writes hollowmark's container image (`make image`): the
// static hollowmark binary as /hollowmark, run as a non-root user, with a
// writable home directory and nothing else (no shell, no libc), as an OCI
// archive that podman load, ctr images import and crane push accept
// (internal/ociimage).
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"runtime"

	"github.com/hollowmark/hollowmark/internal/ociimage"
)

// uid is the image's user: not root, and not a user any base image
// defines (the image has no /etc/passwd; 65532 is distroless' nonroot).
const uid = 65532

func main() {
	var (
		binary   = flag.String("binary", "bin/image/hollowmark", "static hollowmark binary (CGO_ENABLED=0)")
		out      = flag.String("out", "bin/hollowmark-image.tar", "archive to write")
		name     = flag.String("name", "localhost/hollowmark", "image name; the version is its tag")
		version  = flag.String("version", "dev", "hollowmark version (git describe)")
		revision = flag.String("revision", "", "git commit the binary was built from")
	)
	flag.Parse()
	if err := write(*binary, *out, *name, *version, *revision); err != nil {
		log.Fatalf("image: %v", err)
	}
}

func write(binary, out, name, version, revision string) error {
	exe, err := ociimage.StaticBinary(binary, "hollowmark")
	if err != nil {
		return err
	}
	img, err := ociimage.Build(ociimage.Spec{
		Files: []ociimage.File{exe,
			{Path: "home", Dir: true, Mode: 0o755},
			{Path: "home/hollowmark", Dir: true, Mode: 0o700, UID: uid, GID: uid},
			{Path: "tmp", Dir: true, Mode: 0o1777}},
		Entrypoint: []string{"/hollowmark"},
		User:       fmt.Sprintf("%d:%d", uid, uid),
		WorkingDir: "/home/hollowmark",
		Env:        []string{"HOME=/home/hollowmark"},
		Labels: map[string]string{
			"org.opencontainers.image.title":    "hollowmark",
			"org.opencontainers.image.version":  version,
			"org.opencontainers.image.revision": revision,
		},
	}, runtime.GOARCH)
	if err != nil {
		return err
	}
	ref := name + ":" + version
	if err := ociimage.WriteArchive(out, img, []string{ref}); err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stdout, "%s: %s (%s)\n", out, ref, digest)
	return nil
}
