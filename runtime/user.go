package runtime

import (
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/berth-engine/berth/archive"
	"github.com/moby/sys/user"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ResolveUser turns "user[:group]" (names or numbers) into IDs with the container's own
// /etc/passwd and /etc/group under rootfs, as Docker's daemon does before handing the spec to the
// runtime: the user's primary group, the groups listing it as a member, and its home. An empty spec
// means root. Unknown names fail with Docker's words ("unable to find user x: no matching entries in
// passwd file").
//
// The files are read through an archive.Root: a running container (exec -u, cp -a) may have made
// /etc a symlink to a host path, and must not get the host's users resolved for it.
func ResolveUser(rootfs, spec string) (specs.User, string, error) {
	root, err := archive.OpenRoot(rootfs)
	if err != nil {
		return specs.User{}, "", err
	}
	defer root.Close()
	return ResolveUserIn(root, spec)
}

// ResolveUserIn is ResolveUser with the container's root filesystem already open.
func ResolveUserIn(root *archive.Root, spec string) (specs.User, string, error) {
	defaults := &user.ExecUser{Uid: 0, Gid: 0, Home: "/"}
	// A missing or unreadable file is no file, as GetExecUserPath has it.
	var passwd, group io.Reader
	if f, err := root.Open("/etc/passwd"); err == nil {
		defer f.Close()
		passwd = f
	}
	if f, err := root.Open("/etc/group"); err == nil {
		defer f.Close()
		group = f
	}
	eu, err := user.GetExecUser(spec, defaults, passwd, group)
	if err != nil {
		name := spec
		if i := strings.IndexByte(name, ':'); i >= 0 {
			if strings.Contains(err.Error(), "group") {
				name = name[i+1:]
			} else {
				name = name[:i]
			}
		}
		msg := err.Error()
		if strings.Contains(msg, "passwd") {
			return specs.User{}, "", fmt.Errorf("unable to find user %s: no matching entries in passwd file", name)
		}
		if strings.Contains(msg, "group") {
			return specs.User{}, "", fmt.Errorf("unable to find group %s: no matching entries in group file", name)
		}
		return specs.User{}, "", err
	}
	// Docker's containers always have their primary group among their groups too
	// (`id` prints "groups=0(root)" for root).
	u := specs.User{UID: uint32(eu.Uid), GID: uint32(eu.Gid), AdditionalGids: []uint32{uint32(eu.Gid)}}
	for _, g := range eu.Sgids {
		if g != eu.Gid {
			u.AdditionalGids = append(u.AdditionalGids, uint32(g))
		}
	}
	return u, eu.Home, nil
}

// ResolveGroups turns --group-add values (names or numbers) into group IDs with the container's
// own /etc/group under rootfs, in the order given; an unknown name fails with Docker's words.
func ResolveGroups(rootfs string, groups []string) ([]uint32, error) {
	var out []uint32
	for _, g := range groups {
		if n, err := strconv.ParseUint(g, 10, 32); err == nil {
			out = append(out, uint32(n))
			continue
		}
		found, _ := user.ParseGroupFileFilter(filepath.Join(rootfs, "etc", "group"), func(e user.Group) bool { return e.Name == g })
		if len(found) == 0 {
			return nil, fmt.Errorf("Unable to find group %s: no matching entries in group file", g)
		}
		out = append(out, uint32(found[0].Gid))
	}
	return out, nil
}
