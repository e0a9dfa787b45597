package archive

import (
	"errors"
	"fmt"
	"path"
)

// WhiteoutFormat selects how the whiteout entries of a layer are written.
type WhiteoutFormat int

const (
	// WhiteoutOverlay writes the layer as one overlayfs layer directory (a
	// lowerdir): ".wh.NAME" becomes a 0:0 character device NAME, and
	// ".wh..wh..opq" sets trusted.overlay.opaque=y on its directory (as
	// Docker's overlay2 driver does).
	WhiteoutOverlay WhiteoutFormat = iota + 1

	// WhiteoutApply flattens the layer onto an existing tree: ".wh.NAME"
	// deletes NAME, and ".wh..wh..opq" deletes the pre-existing children of
	// its directory but keeps what this layer wrote there (as moby's
	// UnpackLayer does).
	WhiteoutApply

	// WhiteoutNone keeps ".wh." names as ordinary files: the stream is
	// plain content (`cp` into a container or onto the host), not a layer.
	WhiteoutNone
)

func (w WhiteoutFormat) String() string {
	switch w {
	case WhiteoutOverlay:
		return "overlay"
	case WhiteoutApply:
		return "apply"
	case WhiteoutNone:
		return "none"
	}
	return fmt.Sprintf("WhiteoutFormat(%d)", int(w))
}

// ApplyOptions configures Apply.
type ApplyOptions struct {
	// Whiteout selects the whiteout format. It is required: the zero value
	// is rejected so that a caller never silently gets the wrong layer
	// semantics.
	Whiteout WhiteoutFormat

	// IDMap, if set, maps the uid and gid of every entry (container IDs) to
	// the IDs written to disk (host IDs). Directories that Apply creates
	// implicitly are owned by IDMap(0, 0).
	IDMap func(uid, gid int) (hostUID, hostGID int, err error)

	// BestEffortXattrs ignores ENOTSUP when setting extended attributes
	// (for file systems without xattr support). EPERM is always ignored,
	// as moby does.
	BestEffortXattrs bool

	// UserXattr makes WhiteoutOverlay mark opaque directories with
	// user.overlay.opaque instead of trusted.overlay.opaque, for overlay
	// mounts that use the userxattr option (rootless).
	UserXattr bool

	// NoChown leaves new entries owned by the caller, as `docker cp` does
	// on the host side (moby's NoLchown); IDMap is then unused.
	NoChown bool

	// NoOverwriteDirNonDir refuses to replace a directory with a
	// non-directory or a non-directory with a directory (moby's option of
	// the same name, which `docker cp` sets).
	NoOverwriteDirNonDir bool

	// Sparse, if set, is set to true when the tar holds GNU sparse entries (old GNU 'S'
	// entries or PAX GNU.sparse.*). They are unpacked as the files they stand for, but a
	// layer blob must not keep them: Docker's archive package neither writes nor reads them
	// (docker load fails with "unhandled tar header type 83"), so a caller storing the tar
	// as it came should store a fresh one (Diff of the unpacked directory) instead.
	Sparse *bool
}

// BreakoutError reports an entry that names, or points a link to, something
// outside the layer root. Apply stops at the first one.
type BreakoutError struct {
	Entry  string // the entry's name as it appears in the tar
	Reason string
}

func (e *BreakoutError) Error() string {
	return fmt.Sprintf("archive: entry %q %s", e.Entry, e.Reason)
}

// ErrUnsupported is returned by Apply and Diff on platforms other than
// Linux.
var ErrUnsupported = errors.New("archive: only supported on Linux")

// OverwriteError is an entry that would replace a directory with a non-directory (Dir) or a
// non-directory with a directory, refused under NoOverwriteDirNonDir. Path is the entry's path
// in the layer root.
type OverwriteError struct {
	Path string
	Dir  bool
}

func (e *OverwriteError) Error() string {
	if e.Dir {
		return fmt.Sprintf("cannot overwrite directory %q with non-directory", path.Base(e.Path))
	}
	return fmt.Sprintf("cannot overwrite non-directory %q with directory", path.Base(e.Path))
}
