package build

import (
	"encoding/binary"
	"runtime"
	"strings"
	"testing"
)

// elfHeader is the start of an ELF executable for a machine (EM_AARCH64 183, EM_X86_64 62): enough
// for the kernel to refuse another architecture's program with ENOEXEC.
func elfHeader(machine uint16) string {
	h := make([]byte, 64)
	copy(h, "\x7fELF\x02\x01\x01")
	binary.LittleEndian.PutUint16(h[16:], 2) // ET_EXEC
	binary.LittleEndian.PutUint16(h[18:], machine)
	binary.LittleEndian.PutUint32(h[20:], 1)
	binary.LittleEndian.PutUint16(h[52:], 64)
	binary.LittleEndian.PutUint16(h[54:], 56)
	return string(h)
}

// RUN for another architecture is not emulated: the kernel refuses the program ("exec format
// error", as under Docker without binfmt_misc/QEMU) and the error line says so. COPY-only steps
// for that platform build.
func TestRunForeignPlatform(t *testing.T) {
	needRunc(t)
	foreign, machine := "arm64", uint16(183)
	if runtime.GOARCH == "arm64" {
		foreign, machine = "amd64", 62
	}
	s := newStore(t)
	ctx := writeCtx(t, map[string]string{"sh": elfHeader(machine)})
	copyOnly := "FROM scratch\nCOPY --chmod=755 sh /bin/sh\n"
	r := mustBuild(t, s, Options{ContextDir: ctx, Platform: "linux/" + foreign, Dockerfile: []byte(copyOnly)})
	if img, _ := s.Get(r.res.ImageID); img == nil || img.Config.Architecture != foreign {
		t.Fatalf("COPY-only build for linux/%s: %+v", foreign, img)
	}
	r = runBuild(t, s, Options{ContextDir: ctx, Platform: "linux/" + foreign, Dockerfile: []byte(copyOnly + "RUN echo hi\n")})
	if r.err == nil {
		t.Fatalf("RUN for linux/%s ran", foreign)
	}
	msg := r.err.Error()
	want := `Dockerfile:3: RUN echo hi: process "/bin/sh -c echo hi" did not complete successfully: exit code: 1: exec /bin/sh: exec format error`
	if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, want) ||
		!strings.Contains(msg, "the stage is for linux/"+foreign+" and this machine is linux/"+runtime.GOARCH) {
		t.Errorf("error:\n got %s\nwant %s (...)", msg, want)
	}
}
