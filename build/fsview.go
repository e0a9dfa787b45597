package build

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// view is a read-only file tree seen as "/": a build context directory (one dir) or an image's
// layers stacked the way overlayfs stacks them (top first; whiteouts hide, opaque dirs stop).
type view struct {
	dirs []string // top first
}

var errNotExist = fs.ErrNotExist

func isWhiteout(fi fs.FileInfo) bool {
	if fi.Mode()&fs.ModeCharDevice == 0 {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Rdev == 0
}

func isOpaque(p string) bool {
	for _, a := range []string{"trusted.overlay.opaque", "user.overlay.opaque"} {
		buf := make([]byte, 2)
		if n, err := unix.Lgetxattr(p, a, buf); err == nil && n == 1 && buf[0] == 'y' {
			return true
		}
	}
	return false
}

func splitPath(p string) []string {
	p = strings.Trim(path.Clean("/"+p), "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// lstat finds p (absolute in the view) without following a final symlink; it returns the host
// path holding it and the index of its layer.
func (v *view) lstat(p string) (fs.FileInfo, string, int, error) {
	comps := splitPath(p)
	if len(comps) == 0 {
		fi, err := os.Lstat(v.dirs[0])
		return fi, v.dirs[0], 0, err
	}
	for li, d := range v.dirs {
		cur := d
		stop := false
		for k, c := range comps {
			parentOpaque := k > 0 && len(v.dirs) > 1 && isOpaque(cur)
			cur = filepath.Join(cur, c)
			fi, err := os.Lstat(cur)
			if err != nil {
				if parentOpaque {
					stop = true
				}
				break
			}
			if len(v.dirs) > 1 && isWhiteout(fi) {
				return nil, "", 0, errNotExist
			}
			if k == len(comps)-1 {
				return fi, cur, li, nil
			}
			if !fi.IsDir() {
				return nil, "", 0, errNotExist
			}
		}
		if stop {
			break
		}
	}
	return nil, "", 0, errNotExist
}

// resolve follows the symlinks on the way to p inside the view (an absolute target starts from
// the view's root, so nothing resolves outside it). The last component is followed only when
// followLast. A missing component ends resolution: the rest is kept as written.
func (v *view) resolve(p string, followLast bool) (string, error) {
	comps := splitPath(p)
	resolved := "/"
	hops := 0
	for i := 0; i < len(comps); i++ {
		next := path.Join(resolved, comps[i])
		if i == len(comps)-1 && !followLast {
			return next, nil
		}
		fi, host, _, err := v.lstat(next)
		if err != nil {
			return path.Join(append([]string{next}, comps[i+1:]...)...), nil
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			resolved = next
			continue
		}
		if hops++; hops > 40 {
			return "", errors.New("too many levels of symbolic links")
		}
		t, err := os.Readlink(host)
		if err != nil {
			return "", err
		}
		base := resolved
		if path.IsAbs(t) {
			base = "/"
		}
		comps = append(splitPath(path.Join(base, t)), comps[i+1:]...)
		resolved, i = "/", -1
	}
	return resolved, nil
}

// stat follows symlinks (within the view) and returns the host path and the resolved path too.
func (v *view) stat(p string) (fs.FileInfo, string, string, error) {
	rp, err := v.resolve(p, true)
	if err != nil {
		return nil, "", p, err
	}
	fi, host, _, err := v.lstat(rp)
	return fi, host, rp, err
}

// readDir lists a directory of the view, names sorted.
func (v *view) readDir(p string) ([]string, error) {
	p, err := v.resolve(p, true)
	if err != nil {
		return nil, err
	}
	_, _, top, err := v.lstat(p)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var names []string
	for li := top; li < len(v.dirs); li++ {
		dir := filepath.Join(v.dirs[li], filepath.FromSlash(path.Clean("/"+p)))
		fi, err := os.Lstat(dir)
		if err != nil || !fi.IsDir() {
			break
		}
		ents, err := os.ReadDir(dir)
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			if seen[e.Name()] {
				continue
			}
			seen[e.Name()] = true
			if len(v.dirs) > 1 {
				if info, err := e.Info(); err == nil && isWhiteout(info) {
					continue
				}
			}
			names = append(names, e.Name())
		}
		if len(v.dirs) == 1 || isOpaque(dir) {
			break
		}
	}
	sort.Strings(names)
	return names, nil
}

func (v *view) readFile(p string) ([]byte, error) {
	_, host, _, err := v.stat(p)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(host)
}
