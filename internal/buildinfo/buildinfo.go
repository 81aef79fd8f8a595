// Package buildinfo says which kai-scaler this is: the version and revision stamped at build
// time (make build and make image set them with -ldflags), else what the Go toolchain recorded
// of the module and its VCS checkout, and the Go version it was built with.
package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// Set with -ldflags "-X github.com/kai-platform/kai-scaler/internal/buildinfo.Version=…".
var (
	Version  = ""
	Revision = ""
)

// Info is the build's identity.
type Info struct {
	Version, Revision, GoVersion string
}

// Get returns the stamped version and revision, falling back to the module version and the
// VCS revision Go records in the binary ("unknown" when neither is known).
func Get() Info {
	info := Info{Version: Version, Revision: Revision, GoVersion: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && info.Revision == "" {
				info.Revision = s.Value
			}
		}
	}
	if info.Version == "" {
		info.Version = "unknown"
	}
	if info.Revision == "" {
		info.Revision = "unknown"
	}
	return info
}
