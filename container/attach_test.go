package container

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
)

func TestFramesRoundTrip(t *testing.T) {
	var conn bytes.Buffer
	var mu sync.Mutex
	out, errw := newFrameWriter(&mu, &conn, streamStdout), newFrameWriter(&mu, &conn, streamStderr)
	out.Write([]byte("one\n"))
	errw.Write([]byte("err\n"))
	big := bytes.Repeat([]byte("x"), maxFrame+10) // split in two frames
	out.Write(big)
	out.Write(nil) // no frame
	writeFrame(&conn, streamExit, []byte{0xff, 0xff, 0xff, 0xfe})
	// The exact bytes of Docker's stdcopy header.
	if h := conn.Bytes()[:8]; !bytes.Equal(h, []byte{1, 0, 0, 0, 0, 0, 0, 4}) {
		t.Errorf("header = %v", h)
	}
	// Read one byte at a time: headers and payloads arrive in pieces.
	var stdout, stderr bytes.Buffer
	code, err := demuxFrames(iotest.OneByteReader(bytes.NewReader(conn.Bytes())), &stdout, &stderr)
	if err != nil || code != -2 {
		t.Fatalf("demux: code %d err %v", code, err)
	}
	if stdout.String() != "one\n"+string(big) || stderr.String() != "err\n" {
		t.Errorf("stdout %d bytes, stderr %q", stdout.Len(), stderr.String())
	}
}

func TestFramesTruncated(t *testing.T) {
	var conn bytes.Buffer
	writeFrame(&conn, streamStdout, []byte("hello"))
	b := conn.Bytes()
	if _, err := demuxFrames(bytes.NewReader(b), io.Discard, io.Discard); !errors.Is(err, errNoExit) {
		t.Errorf("no exit frame: %v", err)
	}
	if _, err := demuxFrames(bytes.NewReader(b[:10]), io.Discard, io.Discard); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("cut payload: %v", err)
	}
	if _, err := demuxFrames(bytes.NewReader(b[:5]), io.Discard, io.Discard); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("cut header: %v", err)
	}
}

func TestParseDetachKeys(t *testing.T) {
	for in, want := range map[string][]byte{
		"ctrl-p,ctrl-q":   {16, 17},
		"a,ctrl-@,ctrl-[": {'a', 0, 27},
		"ctrl-_,DEL":      {31, 127},
	} {
		got, err := ParseDetachKeys(in)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	if _, err := ParseDetachKeys("ctrl-1"); err == nil || err.Error() != "Unknown character: 'ctrl-1'" {
		t.Errorf("ctrl-1: %v", err)
	}
}

func TestCopyEscapable(t *testing.T) {
	keys := []byte{16, 17}
	var w bytes.Buffer
	// A lone ctrl-p is held back and then passed on; ctrl-p ctrl-q detaches.
	err := copyEscapable(&w, iotest.OneByteReader(strings.NewReader("ab\x10c\x10\x10\x11zz")), keys)
	if !errors.Is(err, ErrDetached) || w.String() != "ab\x10c\x10" {
		t.Errorf("got %q %v", w.String(), err)
	}
	w.Reset()
	if err := copyEscapable(&w, strings.NewReader("plain\x10"), keys); err != nil || w.String() != "plain\x10" {
		t.Errorf("EOF: %q %v", w.String(), err)
	}
}
