// Command image writes kai-scaler's container image as a tarball (OCI layout and docker
// archive in one) from a binary built with CGO_ENABLED=0; `make image` builds the binary and
// runs it. No Docker needed.
//
//	go run ./hack/image -binary BIN -out kai-scaler-image.tar -version v1.2.3 -revision SHA
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"

	"github.com/kai-platform/kai-scaler/internal/ociimage"
)

func main() {
	bin := flag.String("binary", "", "statically linked kai-scaler binary")
	out := flag.String("out", "kai-scaler-image.tar", "tarball to write")
	repo := flag.String("repository", "ghcr.io/kai-platform/kai-scaler", "image repository; the tag is the version")
	version := flag.String("version", "dev", "version: image tag and org.opencontainers.image.version")
	revision := flag.String("revision", "unknown", "VCS revision: org.opencontainers.image.revision")
	source := flag.String("source", "https://github.com/kai-platform/kai-scaler", "org.opencontainers.image.source")
	ca := flag.String("ca-certs", "/etc/ssl/certs/ca-certificates.crt", "CA bundle to ship")
	arch := flag.String("arch", runtime.GOARCH, "architecture of the binary")
	flag.Parse()
	if *bin == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "image: -binary is required")
		flag.Usage()
		os.Exit(2)
	}
	// SOURCE_DATE_EPOCH (reproducible builds) dates the image; else the Unix epoch, so the
	// same binary gives the same digest.
	created := time.Unix(0, 0).UTC()
	if s, err := strconv.ParseInt(os.Getenv("SOURCE_DATE_EPOCH"), 10, 64); err == nil {
		created = time.Unix(s, 0).UTC()
	}
	img, err := ociimage.Build(ociimage.Options{Binary: *bin, CACerts: *ca, Arch: *arch,
		Version: *version, Revision: *revision, Source: *source, Created: created})
	if err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
	ref := *repo + ":" + *version
	if err := ociimage.WriteTarball(img, ref, *out); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
	d, err := img.Digest()
	if err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
	fmt.Printf("%s %s written to %s\n", ref, d, *out)
}
