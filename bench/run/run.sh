#!/bin/bash
# Benchmark: `berth run --rm IMG true` next to `runc run` of a prepared bundle with the very spec
# berth generates (same mounts, namespaces, cgroups), and `docker run --rm` when a daemon answers.
# Also `--security-opt seccomp=unconfined`, so the cost of Docker's default seccomp profile (runc
# compiles it with libseccomp at every start) is measured in the same rounds.
# Like for like: runc's bundle has an empty network namespace, so it is compared with
# `--network none`; the default (bridge: CNI loopback+bridge+firewall, NAT) is compared with
# Docker's default, which also sets up a bridge endpoint.
# Needs root, runc, python3 and busybox-static.
#   usage: bench/run/run.sh [RUNS]       (prints each command's times and the difference to runc)
set -euo pipefail
RUNS=${1:-30}
HERE=$(cd "$(dirname "$0")/../.." && pwd)
W=$(mktemp -d /tmp/berth-bench.XXXXXX)
export BERTH_ROOT=$W/root
cleanup() {
  "$W/berth" rm -f benchref >/dev/null 2>&1 || true
  umount -R "$W/bundle/rootfs" 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT
(cd "$HERE" && GOTOOLCHAIN=local CGO_ENABLED=0 go build -o "$W/berth" ./cmd/berth)
# A busybox rootfs tarball, as tools/docker-reference.sh makes it.
r=$W/rootfs-src; mkdir -p "$r"/{bin,etc,tmp,root}; cp /bin/busybox "$r/bin/busybox"
for a in $(/bin/busybox --list); do [[ $a == busybox ]] || ln -sf busybox "$r/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$r/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$r/etc/group"
tar --sort=name --mtime=@0 --owner=0 --group=0 -C "$r" -cf "$W/busybox.tar" .
"$W/berth" import "$W/busybox.tar" bench:1 >/dev/null
"$W/berth" run --rm bench:1 true # warm up

# The bundle for plain runc: berth's own config.json and /etc files, over an extracted rootfs.
id=$("$W/berth" create --name benchref --network none bench:1 true)
"$W/berth" start -a benchref >/dev/null
mkdir -p "$W/bundle/rootfs" "$W/runc-state"
tar -C "$W/bundle/rootfs" -xf "$W/busybox.tar"
cp "$BERTH_ROOT/containers/$id/"{config.json,hosts,hostname,resolv.conf} "$W/bundle/"
sed -i "s#$BERTH_ROOT/containers/$id/#$W/bundle/#g; s#/berth/$id#/berth-bench/runc#" "$W/bundle/config.json"
# With --network none berth's spec already lets runc make the network namespace (lo up); a path
# (a namespace gone with its container) would be dropped so runc makes a new one.
python3 - "$W/bundle/config.json" <<'PY'
import json, sys
spec = json.load(open(sys.argv[1]))
for ns in spec["linux"]["namespaces"]:
    ns.pop("path", None)
json.dump(spec, open(sys.argv[1], "w"), indent="\t")
PY

# Round-robin timing (bench/lib/interleave.py): each round runs every command once, so the
# machine's noisy spells hit all of them alike; the difference to runc is taken round by round.
cmds=("runc run" "runc --root $W/runc-state run --bundle $W/bundle bench-runc"
      "berth run --rm --network none" "$W/berth run --rm --network none bench:1 true"
      "berth run --rm --network none, seccomp=unconfined" "$W/berth run --rm --network none --security-opt seccomp=unconfined bench:1 true"
      "berth run --rm" "$W/berth run --rm bench:1 true")
if docker info >/dev/null 2>&1 && docker image inspect reference-busybox:1 >/dev/null 2>&1; then
  cmds+=("docker run --rm --network none" "docker run --rm --network none reference-busybox:1 true"
         "docker run --rm" "docker run --rm reference-busybox:1 true")
fi
INTERLEAVE_JSON=$W/result.json python3 "$HERE/bench/lib/interleave.py" "$RUNS" "${cmds[@]}"
python3 - "$W/result.json" <<'PY'
import json, statistics, sys
r = {k: statistics.mean(v) for k, v in json.load(open(sys.argv[1])).items()}
n, b, c = r["berth run --rm --network none"], r["berth run --rm"], r["runc run"]
print(f"berth --network none {n:.1f} ms, runc {c:.1f} ms: berth = runc + {n - c:.1f} ms ({n / c:.2f}x)")
print(f"berth (bridge) {b:.1f} ms")
u = r["berth run --rm --network none, seccomp=unconfined"]
# Issue 13's target: Docker's seccomp profile on costs at most 2 ms over running unconfined.
print(f"seccomp: berth --network none {n:.1f} ms vs seccomp=unconfined {u:.1f} ms: +{n - u:.1f} ms (target <= 2 ms)")
if "docker run --rm" in r:
    dn, d = r["docker run --rm --network none"], r["docker run --rm"]
    print(f"docker --network none {dn:.1f} ms: berth = {n / dn:.3f}x docker")
    print(f"docker (bridge) {d:.1f} ms: berth = {b / d:.3f}x docker")
PY
