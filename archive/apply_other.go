//go:build !linux

package archive

import (
	"io"
	"os"
)

// Apply unpacks a layer tar stream; it is only implemented on Linux.
func Apply(root string, r io.Reader, opts ApplyOptions) (size int64, err error) {
	return 0, ErrUnsupported
}

// Diff turns an overlayfs upper directory into a layer tar; it is only
// implemented on Linux.
func Diff(upper string) (io.ReadCloser, error) {
	return nil, ErrUnsupported
}

// Root is a directory that paths are resolved in as if it were "/"; it is
// only implemented on Linux.
type Root struct{}

// OpenRoot is only implemented on Linux.
func OpenRoot(dir string) (*Root, error) { return nil, ErrUnsupported }

// Close releases the root.
func (r *Root) Close() error { return nil }

// Open is only implemented on Linux.
func (r *Root) Open(p string) (*os.File, error) { return nil, ErrUnsupported }
