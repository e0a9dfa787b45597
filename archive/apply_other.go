//go:build !linux

package archive

import "io"

// Apply unpacks a layer tar stream; it is only implemented on Linux.
func Apply(root string, r io.Reader, opts ApplyOptions) (size int64, err error) {
	return 0, ErrUnsupported
}
