package cli

import (
	"bufio"
	"os"
	"strings"
)

// overlaySupported reports whether the kernel lists overlayfs.
func overlaySupported() bool {
	f, err := os.Open("/proc/filesystems")
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasSuffix(sc.Text(), "\toverlay") {
			return true
		}
	}
	return false
}
