// Package buildinfo says which build of liveroom is running: the module version and the VCS
// revision the go command stamped into the binary (runtime/debug.ReadBuildInfo). It is read
// by liveroomd --version and by the liveroom_build_info metric, so the two never disagree.
package buildinfo

import (
	"runtime"
	"runtime/debug"
	"sync"
)

// version and revision may be set at link time (-ldflags "-X
// github.com/liveroom/liveroom/internal/buildinfo.version=v1.1.0 -X ...revision=abc123"), for
// builds the go command cannot stamp: a plain `go build` in a clone says "(devel)", and a build
// without the .git directory (a container's context, -buildvcs=false) has no revision.
var version, revision string

// Info is one build's identity.
type Info struct {
	Version   string // module version, the -X value, or "(devel)"
	Revision  string // VCS revision, "unknown" when the build was not stamped
	Modified  bool   // the work tree had changes not committed
	GoVersion string // the toolchain that built the binary
}

var read = sync.OnceValue(func() (in Info) {
	in = Info{Version: version, Revision: revision, GoVersion: runtime.Version()}
	defer func() {
		if in.Revision == "" {
			in.Revision = "unknown"
		}
	}()
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		if in.Version == "" {
			in.Version = "(devel)"
		}
		return in
	}
	if in.Version == "" {
		in.Version = bi.Main.Version
	}
	if in.Version == "" {
		in.Version = "(devel)"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			if in.Revision == "" {
				in.Revision = s.Value
			}
		case "vcs.modified":
			in.Modified = s.Value == "true"
		}
	}
	return in
})

// Read returns this binary's build identity (computed once).
func Read() Info { return read() }

// String is the one line liveroomd --version prints: "liveroomd v1.1.0 (rev abc123, modified) go1.26.8".
func (in Info) String() string {
	rev := in.Revision
	if in.Modified {
		rev += ", modified"
	}
	return "liveroomd " + in.Version + " (rev " + rev + ") " + in.GoVersion
}
