#!/usr/bin/env bash
# Installs the Debian packages berth's tests and demo use, only those missing (idempotent), and
# readies the host for them.
set -euo pipefail
# A command, or an absolute path for packages that put nothing on PATH.
declare -A want=(
  [busybox]=busybox-static [runc]=runc [crun]=crun [docker-registry]=docker-registry [skopeo]=skopeo
  [umoci]=umoci [zstd]=zstd [xz]=xz-utils [bzip2]=bzip2 [gzip]=gzip [hyperfine]=hyperfine
  [iptables]=iptables [/usr/lib/cni/bridge]=containernetworking-plugins [tini-static]=tini
  [nsenter]=util-linux [ip]=iproute2 [chromium]=chromium
  # userns-remap: dockremap's creation and the tests' remap users and subordinate ranges.
  [useradd]=passwd [usermod]=passwd [setpriv]=util-linux
  # rootless mode: the user namespace's maps from /etc/subuid and /etc/subgid, and its network.
  [newuidmap]=uidmap [newgidmap]=uidmap [slirp4netns]=slirp4netns
)
missing=()
for probe in "${!want[@]}"; do
  if [[ $probe == /* ]]; then
    [[ -e $probe ]] || missing+=("${want[$probe]}")
  else
    command -v "$probe" >/dev/null 2>&1 || missing+=("${want[$probe]}")
  fi
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# crun (1.8) refuses a hybrid cgroup layout whose v2 hierarchy holds controllers ("cgroups in
# hybrid mode not supported, drop all controllers from cgroupv2"): the controllers that no v1
# hierarchy has (here hugetlb) are given v1 hierarchies of their own, as on a host that mounts
# them all. runc works either way.
unified=/sys/fs/cgroup/unified
if [[ $(stat -f -c %T /sys/fs/cgroup 2>/dev/null) == tmpfs && -r $unified/cgroup.controllers &&
      -z $(cat "$unified/cgroup.subtree_control" 2>/dev/null) ]]; then
  for c in $(cat "$unified/cgroup.controllers"); do
    mkdir -p "/sys/fs/cgroup/$c"
    mountpoint -q "/sys/fs/cgroup/$c" || mount -t cgroup -o "$c" cgroup "/sys/fs/cgroup/$c" ||
      echo "deps: could not mount the $c cgroup controller as v1; crun will refuse this host" >&2
  done
fi

# The confinement probe (internal/cli/security_e2e_test.go) creates a bridge link in a container
# with CAP_NET_ADMIN, which needs the bridge module loaded (berth's own bridge network loads it too).
[[ -d /sys/module/bridge ]] || modprobe bridge 2>/dev/null ||
  echo "deps: could not load the bridge module; the security probe test will skip" >&2
