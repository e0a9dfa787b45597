// Command seccompbpf prints, base64-encoded, the seccomp filter a running process is confined
// by (PTRACE_SECCOMP_GET_FILTER): the BPF program the OCI runtime compiled from a profile with
// libseccomp. bench/run/seccomp.sh hands it back to crun through its run.oci.seccomp_bpf_data
// annotation, to measure a start that loads a precompiled filter instead of compiling one.
//
//	usage: seccompbpf PID     (as root; PID is stopped for a moment and let go)
package main

import (
	"encoding/base64"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ptraceSeccompGetFilter is PTRACE_SECCOMP_GET_FILTER (linux/ptrace.h).
const ptraceSeccompGetFilter = 0x420c

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: seccompbpf PID")
		os.Exit(2)
	}
	pid, err := strconv.Atoi(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "seccompbpf: bad PID:", os.Args[1])
		os.Exit(2)
	}
	prog, err := filter(pid)
	if err != nil {
		fmt.Fprintln(os.Stderr, "seccompbpf:", err)
		os.Exit(1)
	}
	fmt.Print(base64.StdEncoding.EncodeToString(prog))
}

// filter reads the first (most recent) filter of pid as raw struct sock_filter bytes.
func filter(pid int) ([]byte, error) {
	runtime.LockOSThread() // every ptrace request must come from the tracing thread
	if err := unix.PtraceSeize(pid); err != nil {
		return nil, fmt.Errorf("PTRACE_SEIZE %d: %w", pid, err)
	}
	defer unix.PtraceDetach(pid)
	if err := unix.PtraceInterrupt(pid); err != nil {
		return nil, fmt.Errorf("PTRACE_INTERRUPT: %w", err)
	}
	var ws unix.WaitStatus
	if _, err := unix.Wait4(pid, &ws, 0, nil); err != nil {
		return nil, err
	}
	n, _, errno := unix.Syscall6(unix.SYS_PTRACE, ptraceSeccompGetFilter, uintptr(pid), 0, 0, 0, 0)
	if errno != 0 {
		return nil, fmt.Errorf("PTRACE_SECCOMP_GET_FILTER: %w", errno)
	}
	if n == 0 {
		return nil, fmt.Errorf("process %d has no seccomp filter", pid)
	}
	buf := make([]unix.SockFilter, n)
	if _, _, errno := unix.Syscall6(unix.SYS_PTRACE, ptraceSeccompGetFilter, uintptr(pid), 0, uintptr(unsafe.Pointer(&buf[0])), 0, 0); errno != 0 {
		return nil, fmt.Errorf("PTRACE_SECCOMP_GET_FILTER: %w", errno)
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&buf[0])), int(n)*int(unsafe.Sizeof(buf[0]))), nil
}
