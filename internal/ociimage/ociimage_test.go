package ociimage

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/require"
)

// buildBinary builds the real kai-scaler, static, with a version stamped as make image does;
// without its default.pgo, in the configuration of the Makefile's STATIC, which vet and lint
// compiled already (with it, a cold run compiled the whole tree again for this test alone).
func buildBinary(t *testing.T, version string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "kai-scaler")
	cmd := exec.Command("go", "build", "-trimpath", "-pgo=off", "-o", out,
		"-ldflags", "-X github.com/kai-platform/kai-scaler/internal/buildinfo.Version="+version+
			" -X github.com/kai-platform/kai-scaler/internal/buildinfo.Revision=abc123",
		"github.com/kai-platform/kai-scaler/cmd/kai-scaler")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, string(b))
	return out
}

// untar reads every regular file of a tar stream.
func untar(t *testing.T, r io.Reader) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		require.NoError(t, err)
		if h.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			require.NoError(t, err)
			files[h.Name] = b
		}
	}
}

func TestImageTarball(t *testing.T) {
	const version = "v9.8.7"
	bin := buildBinary(t, version)
	ca := filepath.Join(t.TempDir(), "ca.crt")
	require.NoError(t, os.WriteFile(ca, []byte("-----BEGIN CERTIFICATE-----\ntest\n-----END CERTIFICATE-----\n"), 0o644))
	img, err := Build(Options{Binary: bin, CACerts: ca, Arch: runtime.GOARCH, Version: version, Revision: "abc123",
		Source: "https://github.com/kai-platform/kai-scaler", Created: time.Unix(0, 0).UTC()})
	require.NoError(t, err)
	ref := "ghcr.io/kai-platform/kai-scaler:" + version
	path := filepath.Join(t.TempDir(), "image.tar")
	require.NoError(t, WriteTarball(img, ref, path))

	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	files := untar(t, bytes.NewReader(raw))
	blob := func(d string) []byte {
		t.Helper()
		b, ok := files["blobs/sha256/"+strings.TrimPrefix(d, "sha256:")]
		require.True(t, ok, "blob %s", d)
		return b
	}

	// The OCI layout: index → manifest (OCI media types) → config.
	require.JSONEq(t, `{"imageLayoutVersion":"1.0.0"}`, string(files["oci-layout"]))
	var index v1.IndexManifest
	require.NoError(t, json.Unmarshal(files["index.json"], &index))
	require.Len(t, index.Manifests, 1)
	require.Equal(t, ref, index.Manifests[0].Annotations["org.opencontainers.image.ref.name"])
	var m v1.Manifest
	require.NoError(t, json.Unmarshal(blob(index.Manifests[0].Digest.String()), &m))
	require.Equal(t, types.OCIManifestSchema1, m.MediaType)
	require.Equal(t, types.OCIConfigJSON, m.Config.MediaType)
	require.Len(t, m.Layers, 1)
	require.Equal(t, types.OCILayer, m.Layers[0].MediaType)
	var cf v1.ConfigFile
	require.NoError(t, json.Unmarshal(blob(m.Config.Digest.String()), &cf))
	require.Equal(t, "linux", cf.OS)
	require.Equal(t, runtime.GOARCH, cf.Architecture)
	require.Equal(t, "65532:65532", cf.Config.User)
	require.Equal(t, []string{"/kai-scaler"}, cf.Config.Entrypoint)
	require.Equal(t, version, cf.Config.Labels["org.opencontainers.image.version"])
	require.Equal(t, "abc123", cf.Config.Labels["org.opencontainers.image.revision"])
	require.Equal(t, "https://github.com/kai-platform/kai-scaler", cf.Config.Labels["org.opencontainers.image.source"])

	// The docker archive view of the same blobs, as docker load and crane push read it.
	tag, err := name.NewTag(ref)
	require.NoError(t, err)
	fromDocker, err := tarball.ImageFromPath(path, &tag)
	require.NoError(t, err)
	dcf, err := fromDocker.ConfigFile()
	require.NoError(t, err)
	require.Equal(t, cf.Config.User, dcf.Config.User)
	dl, err := fromDocker.Layers()
	require.NoError(t, err)
	require.Len(t, dl, 1)

	// The layer: the binary, the CA bundle, passwd with the non-root user, no shell.
	rc, err := dl[0].Uncompressed()
	require.NoError(t, err)
	rootfs := untar(t, rc)
	require.NoError(t, rc.Close())
	require.Contains(t, rootfs, "kai-scaler")
	require.Contains(t, string(rootfs["etc/ssl/certs/ca-certificates.crt"]), "BEGIN CERTIFICATE")
	require.Contains(t, string(rootfs["etc/passwd"]), "nonroot:x:65532:65532")
	for p := range rootfs {
		require.NotContains(t, []string{"bin/sh", "bin/bash", "usr/bin/sh"}, p, "no shell in the image")
	}

	// The binary out of the image runs and says what it is.
	extracted := filepath.Join(t.TempDir(), "kai-scaler")
	require.NoError(t, os.WriteFile(extracted, rootfs["kai-scaler"], 0o755))
	out, err := exec.Command(extracted, "version").CombinedOutput()
	require.NoError(t, err, string(out))
	require.Contains(t, string(out), "kai-scaler "+version)
	require.Contains(t, string(out), "revision: abc123")
	require.Contains(t, string(out), "go: go1.")

	// Same inputs, same digest.
	again, err := Build(Options{Binary: bin, CACerts: ca, Arch: runtime.GOARCH, Version: version, Revision: "abc123",
		Source: "https://github.com/kai-platform/kai-scaler", Created: time.Unix(0, 0).UTC()})
	require.NoError(t, err)
	d1, err := img.Digest()
	require.NoError(t, err)
	d2, err := again.Digest()
	require.NoError(t, err)
	require.Equal(t, d1, d2)
}
