// Package archive applies OCI / Docker image layer tarballs safely and fast.
//
// [DecompressStream] detects plain tar, gzip, bzip2, xz and zstd by magic
// bytes and returns a streaming decompressor. [Apply] unpacks an
// uncompressed layer tar stream into a directory, streaming file contents
// with large buffers and no fsync. [Diff] turns an overlayfs upper directory
// back into a layer tar.
//
// # Invariants of Apply
//
// Nothing is ever created, modified or removed outside the layer root:
//
//   - Entry names are cleaned. Absolute names and names that climb out of
//     the root ("../x", "a/../../x") are rejected with a [*BreakoutError]
//     naming the entry, before anything is written for that entry.
//   - Every parent directory is resolved inside the root, symlinks
//     included, as if the root were "/" (openat2 with RESOLVE_IN_ROOT, or
//     filepath-securejoin's pathrs-lite where openat2 is missing); the
//     entry itself is then created relative to that directory descriptor
//     with *at system calls that do not follow a final symlink. So a layer
//     with "etc -> /host/etc" and then "etc/passwd" writes
//     ROOT/host/etc/passwd, never the host's file.
//   - Hard link targets are resolved the same way; a target that climbs out
//     of the root is rejected. Relative symlink targets that climb out of
//     the root lexically ("link -> ../../..") are rejected as moby does
//     ("invalid symlink"); absolute targets ("/bin/busybox") are normal and
//     kept as they are, to be resolved inside the container later.
//   - Removals (replaced entries, whiteouts, opaque directories) never
//     follow symlinks.
//
// Apply does what moby's createTarFile does otherwise: an existing entry is
// replaced, except that a directory entry over an existing directory merges
// into it; ownership (optionally mapped with ApplyOptions.IDMap), mode
// including setuid/setgid/sticky, SCHILY.xattr.* PAX records (EPERM
// ignored; ENOTSUP ignored with BestEffortXattrs) and times are applied,
// directory times last. Device nodes that may not be created (EPERM, user
// namespaces) are skipped. Parent directories the layer does not list are
// created with mode 0755. Entries for the root itself ("./") and PAX global
// headers are skipped. GNU sparse entries are written with holes. Extended attributes in the trusted.overlay.* and
// user.overlay.* namespaces are never taken from a layer: they belong to
// overlayfs.
//
// # Whiteouts
//
// Layers mark deletions AUFS-style: an entry "dir/.wh.NAME" deletes
// dir/NAME of the layers below, and "dir/.wh..wh..opq" makes dir opaque
// (hides everything the layers below have in it). Other ".wh..wh."
// metadata entries (".wh..wh.plnk", ".wh..wh.aufs") are skipped.
//
//   - [WhiteoutOverlay]: root is one overlayfs layer directory. ".wh.NAME"
//     becomes the overlay whiteout NAME (a 0:0 character device, owned as
//     the entry says) and ".wh..wh..opq" sets trusted.overlay.opaque=y
//     (user.overlay.opaque with ApplyOptions.UserXattr) on its directory,
//     as Docker's overlay2 driver does.
//   - [WhiteoutApply]: the layer is flattened onto the tree in root.
//     ".wh.NAME" removes NAME; ".wh..wh..opq" removes what the directory
//     held before this layer but keeps what this layer wrote to it (and the
//     directories leading there), as moby's UnpackLayer does.
//
// # Size
//
// Apply returns the layer size as Docker reports it for an overlay2 layer
// (the size of the unpacked directory): the bytes of regular files plus the
// length of each symlink's target; directories, hard links, devices and
// whiteouts count nothing.
//
// After the tar end-of-archive marker Apply reads its input to EOF so that
// a decompressor or digest verifier in front of it sees the whole stream
// (and gets to check its trailer).
//
// # Live trees
//
// A running container changes its root filesystem while the host works in
// it, and may swap a directory for a symlink to a host path between two
// system calls (CVE-2018-15664). [Root] opens such a tree: [Root.Lookup]
// resolves a path inside it as a chrooted process would (the same
// resolver as Apply), and the [Entry] it returns is held by descriptor, so
// what is then read ([Entry.WriteTar], [Root.Open]) or written
// ([Entry.Apply], [ApplyAt], [Root.MkdirAll]) is what was found, never a
// path resolved again. WriteTar and [Diff] walk with *at calls and
// O_NOFOLLOW only: an entry renamed meanwhile is read as what it has
// become, or the walk fails; it never leads outside. [WhiteoutNone] makes
// Apply take plain content (`cp`), where ".wh." names are ordinary files.
package archive
