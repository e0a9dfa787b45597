package container

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Docker's stdcopy framing, which multiplexes a container's stdout and stderr on one
// connection: each frame is an 8-byte header [stream, 0, 0, 0, big-endian uint32 size] followed
// by size bytes of the stream's output.
const (
	streamStdin  byte = 0
	streamStdout byte = 1
	streamStderr byte = 2
	// streamExit is berth's own (Docker has no such frame): the container's exit code, a 4-byte
	// big-endian int32, sent by the shim before it closes an attach connection.
	streamExit byte = 0x80

	frameHeaderLen = 8
	maxFrame       = 1 << 20
)

// frameWriter writes each Write as one frame of its stream. Writers of several streams sharing
// one connection share mu, so that frames do not interleave.
type frameWriter struct {
	mu     *sync.Mutex
	w      io.Writer
	stream byte
}

func newFrameWriter(mu *sync.Mutex, w io.Writer, stream byte) *frameWriter {
	return &frameWriter{mu: mu, w: w, stream: stream}
}

func (f *frameWriter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return writeFrame(f.w, f.stream, p)
}

// writeFrame writes p as frames of stream (several when p is over maxFrame) and returns how much
// of p was written.
func writeFrame(w io.Writer, stream byte, p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		n := min(len(p), maxFrame)
		buf := make([]byte, frameHeaderLen+n)
		buf[0] = stream
		binary.BigEndian.PutUint32(buf[4:], uint32(n))
		copy(buf[frameHeaderLen:], p[:n])
		if _, err := w.Write(buf); err != nil {
			return written, err
		}
		written += n
		p = p[n:]
	}
	return written, nil
}

// errNoExit: the stream ended without the shim's exit frame (the shim went away).
var errNoExit = errors.New("attach stream ended without an exit status")

// demuxFrames copies frames from r to stdout and stderr by stream until r ends, and returns the
// exit code of the exit frame; errNoExit when r ended without one. A nil writer discards.
func demuxFrames(r io.Reader, stdout, stderr io.Writer) (int, error) {
	var hdr [frameHeaderLen]byte
	buf := make([]byte, 32*1024)
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if err == io.EOF {
				return 0, errNoExit
			}
			return 0, err
		}
		size := int(binary.BigEndian.Uint32(hdr[4:]))
		if size > maxFrame {
			return 0, fmt.Errorf("attach stream: frame of %d bytes", size)
		}
		if hdr[0] == streamExit {
			if size != 4 {
				return 0, fmt.Errorf("attach stream: exit frame of %d bytes", size)
			}
			var b [4]byte
			if _, err := io.ReadFull(r, b[:]); err != nil {
				return 0, err
			}
			return int(int32(binary.BigEndian.Uint32(b[:]))), nil
		}
		var w io.Writer
		switch hdr[0] {
		case streamStdout:
			w = stdout
		case streamStderr:
			w = stderr
		default:
			return 0, fmt.Errorf("attach stream: unknown stream %d", hdr[0])
		}
		if w == nil {
			w = io.Discard
		}
		for size > 0 {
			n, err := r.Read(buf[:min(size, len(buf))])
			if n > 0 {
				if _, werr := w.Write(buf[:n]); werr != nil {
					return 0, werr
				}
				size -= n
			}
			if err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				if size > 0 {
					return 0, err
				}
			}
		}
	}
}

// StreamWriters are w as Docker's multiplexed stream (the Engine API's attach, logs and exec of
// a container without a terminal): each write to stdout or stderr is one frame of its stream.
func StreamWriters(w io.Writer) (stdout, stderr io.Writer) {
	mu := &sync.Mutex{}
	return newFrameWriter(mu, w, streamStdout), newFrameWriter(mu, w, streamStderr)
}
