package runtime

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"syscall"
	"time"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// SeccompBPFAnnotation is crun's annotation for a filter already compiled to BPF (base64 of the
// struct sock_filter array): crun loads it instead of compiling linux.seccomp with libseccomp,
// which costs some 25 ms of CPU at every start for Docker's profile.
const SeccompBPFAnnotation = "run.oci.seccomp_bpf_data"

// SeccompCache keeps the BPF that crun compiled for each seccomp profile, so that later starts
// with the same profile (Docker's default is built from the capability set: one per set) skip
// the compilation. The BPF is crun's own output, read back from a probe process confined by it,
// so it is exactly what crun would have loaded.
type SeccompCache struct {
	Dir string // ROOT/seccomp
	// Probe is the command line of a program that blocks until killed (berth seccomp-probe),
	// bound read-only into the probe container at /probe.
	Probe []string
}

// SeccompKey names a profile in the cache: the SHA-256 of its JSON.
func SeccompKey(f *specs.LinuxSeccomp) string {
	b, _ := json.Marshal(f)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Precompiled gives spec crun's precompiled filter for its linux.seccomp, compiling it once with
// rt on a miss. It does nothing for another runtime than crun or a spec without a filter; on
// any failure the spec is left for crun to compile as usual.
func (c SeccompCache) Precompiled(rt *Runtime, spec *specs.Spec) error {
	if spec.Linux == nil || spec.Linux.Seccomp == nil || filepath.Base(rt.Binary) != "crun" {
		return nil
	}
	path := filepath.Join(c.Dir, SeccompKey(spec.Linux.Seccomp))
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if data, err = c.compile(rt, spec.Linux.Seccomp); err == nil {
			err = writeAtomic(path, data)
		}
	}
	if err != nil {
		return err
	}
	if spec.Annotations == nil {
		spec.Annotations = map[string]string{}
	}
	spec.Annotations[SeccompBPFAnnotation] = string(data)
	return nil
}

func writeAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-")
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	f.Close()
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return err
	}
	return nil
}

// compile runs a probe container confined by filter and reads its BPF back (base64).
func (c SeccompCache) compile(rt *Runtime, filter *specs.LinuxSeccomp) ([]byte, error) {
	if len(c.Probe) == 0 {
		return nil, errors.New("no seccomp probe program")
	}
	b := make([]byte, 8)
	rand.Read(b)
	id := "seccomp-probe-" + hex.EncodeToString(b)
	bundle := filepath.Join(c.Dir, id)
	if err := os.MkdirAll(filepath.Join(bundle, "rootfs"), 0o700); err != nil {
		return nil, err
	}
	defer os.RemoveAll(bundle)
	for _, d := range []string{"dev", "proc"} {
		if err := os.Mkdir(filepath.Join(bundle, "rootfs", d), 0o755); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(filepath.Join(bundle, "rootfs", "probe"), nil, 0o755); err != nil {
		return nil, err
	}
	spec := &specs.Spec{
		Version: OCIVersion,
		Root:    &specs.Root{Path: "rootfs", Readonly: true},
		Process: &specs.Process{Args: append([]string{"/probe"}, c.Probe[1:]...), Cwd: "/", NoNewPrivileges: true},
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "mode=755"}},
			{Destination: "/probe", Type: "bind", Source: c.Probe[0], Options: []string{"bind", "ro"}},
		},
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{{Type: specs.MountNamespace}, {Type: specs.PIDNamespace},
				{Type: specs.IPCNamespace}, {Type: specs.UTSNamespace}, {Type: specs.NetworkNamespace}},
			Seccomp:     filter,
			CgroupsPath: "/berth/" + id,
		},
	}
	js, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), js, 0o600); err != nil {
		return nil, err
	}
	pid, err := rt.RunDetached(id, bundle, Stdio{}, "")
	defer func() {
		rt.Kill(id, syscall.SIGKILL, true)
		rt.Delete(id, true)
		RemoveCgroup("/berth/" + id)
	}()
	if err != nil {
		return nil, err
	}
	// The filter is loaded just before the probe's exec, which may come after `run -d` returns.
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if strings.Contains(string(st), "\nSeccomp:\t2") {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the seccomp probe %d never got its filter", pid)
		}
	}
	prog, err := seccompFilterOf(pid)
	if err != nil {
		return nil, err
	}
	return []byte(base64.StdEncoding.EncodeToString(prog)), nil
}

// seccompFilterOf reads the seccomp filter of a process (PTRACE_SECCOMP_GET_FILTER, as root) as
// the raw struct sock_filter array.
func seccompFilterOf(pid int) ([]byte, error) {
	type result struct {
		b   []byte
		err error
	}
	ch := make(chan result, 1)
	go func() {
		// Every ptrace request must come from the thread that attached.
		goruntime.LockOSThread()
		defer goruntime.UnlockOSThread()
		b, err := func() ([]byte, error) {
			if err := unix.PtraceSeize(pid); err != nil {
				return nil, fmt.Errorf("PTRACE_SEIZE %d: %w", pid, err)
			}
			defer unix.PtraceDetach(pid)
			if err := unix.PtraceInterrupt(pid); err != nil {
				return nil, err
			}
			var ws unix.WaitStatus
			if _, err := unix.Wait4(pid, &ws, unix.WALL, nil); err != nil {
				return nil, err
			}
			const getFilter = 0x420c // PTRACE_SECCOMP_GET_FILTER
			n, _, errno := unix.Syscall6(unix.SYS_PTRACE, getFilter, uintptr(pid), 0, 0, 0, 0)
			if errno != 0 || n == 0 {
				return nil, fmt.Errorf("PTRACE_SECCOMP_GET_FILTER: %d instructions, %v", n, errno)
			}
			buf := make([]unix.SockFilter, n)
			if _, _, errno := unix.Syscall6(unix.SYS_PTRACE, getFilter, uintptr(pid), 0, uintptr(unsafe.Pointer(&buf[0])), 0, 0); errno != 0 {
				return nil, fmt.Errorf("PTRACE_SECCOMP_GET_FILTER: %w", errno)
			}
			return unsafe.Slice((*byte)(unsafe.Pointer(&buf[0])), int(n)*int(unsafe.Sizeof(buf[0]))), nil
		}()
		ch <- result{b, err}
	}()
	r := <-ch
	return r.b, r.err
}
