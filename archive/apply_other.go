//go:build !linux

package archive

import "io"

// Apply unpacks a layer tar stream; it is only implemented on Linux.
func Apply(root string, r io.Reader, opts ApplyOptions) (size int64, err error) {
	return 0, ErrUnsupported
}

// Diff turns an overlayfs upper directory into a layer tar; it is only
// implemented on Linux.
func Diff(upper string) (io.ReadCloser, error) {
	return nil, ErrUnsupported
}
