// sysprobe tries the system calls Docker's default seccomp profile is about and prints, one line
// each, "NAME: ok" or "NAME: ERRNO". The security e2e test runs it in containers (built static).
package main

import (
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

func main() {
	report := func(name string, err error) {
		if err == nil {
			fmt.Println(name + ": ok")
			return
		}
		if e, ok := err.(unix.Errno); ok {
			fmt.Println(name + ": " + unix.ErrnoName(e))
			return
		}
		fmt.Println(name+":", err)
	}
	sys := func(trap uintptr, a ...uintptr) error {
		for len(a) < 6 {
			a = append(a, 0)
		}
		r, _, e := unix.Syscall6(trap, a[0], a[1], a[2], a[3], a[4], a[5])
		if e != 0 {
			return e
		}
		if int(r) > 2 {
			unix.Close(int(r))
		}
		return nil
	}
	socket := func(domain, typ int) error {
		fd, err := unix.Socket(domain, typ, 0)
		if err == nil {
			unix.Close(fd)
		}
		return err
	}
	const keySpecSessionKeyring = ^uintptr(2) // -3
	report("keyctl", sys(unix.SYS_KEYCTL, unix.KEYCTL_GET_KEYRING_ID, keySpecSessionKeyring, 0))
	report("userfaultfd", sys(unix.SYS_USERFAULTFD, 0))
	attr := unix.PerfEventAttr{Type: unix.PERF_TYPE_SOFTWARE, Config: unix.PERF_COUNT_SW_CPU_CLOCK}
	attr.Size = uint32(unsafe.Sizeof(attr))
	_, err := unix.PerfEventOpen(&attr, 0, -1, -1, 0)
	report("perf_event_open", err)
	pid := uintptr(os.Getpid())
	report("kcmp", sys(unix.SYS_KCMP, pid, pid, 0 /* KCMP_FILE */, 0, 0))
	var params [120]byte // struct io_uring_params
	report("io_uring_setup", sys(unix.SYS_IO_URING_SETUP, 1, uintptr(unsafe.Pointer(&params[0]))))
	report("socket-AF_ALG", socket(unix.AF_ALG, unix.SOCK_SEQPACKET))
	report("socket-AF_VSOCK", socket(unix.AF_VSOCK, unix.SOCK_STREAM))
	// A Go program has threads, so the kernel answers EINVAL to a user namespace: EINVAL means
	// the filter let the call through, EPERM that it stopped it.
	report("unshare-user", sys(unix.SYS_UNSHARE, unix.CLONE_NEWUSER))
	report("personality-query", sys(unix.SYS_PERSONALITY, 0xffffffff))
}
