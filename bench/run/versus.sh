#!/bin/bash
# Benchmark: `berth run --rm --network none` of this tree next to the same run by another berth
# binary (e.g. one built from main before a change), interleaved round by round
# (bench/lib/interleave.py), on one store. Issue 13's target: seccomp on stays within 2 ms of the
# run before it. Also times `--security-opt seccomp=unconfined`, and plain `runc run` of berth's
# bundle with and without its linux.seccomp, to show what the filter costs in the runtime itself
# (runc compiles it with libseccomp at every start).
# Needs root, runc, python3 and busybox-static.
#   usage: bench/run/versus.sh OTHER-BERTH [RUNS]
set -euo pipefail
OTHER=${1:?usage: versus.sh OTHER-BERTH [RUNS]}
RUNS=${2:-40}
HERE=$(cd "$(dirname "$0")/../.." && pwd)
W=$(mktemp -d /tmp/berth-bench.XXXXXX)
export BERTH_ROOT=$W/root
cleanup() { rm -rf "$W"; }
trap cleanup EXIT
(cd "$HERE" && GOTOOLCHAIN=local CGO_ENABLED=0 go build -o "$W/berth" ./cmd/berth)
r=$W/rootfs-src; mkdir -p "$r"/{bin,etc,tmp,root}; cp /bin/busybox "$r/bin/busybox"
for a in $(/bin/busybox --list); do [[ $a == busybox ]] || ln -sf busybox "$r/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$r/etc/passwd"; printf 'root:x:0:\n' >"$r/etc/group"
tar --sort=name --mtime=@0 --owner=0 --group=0 -C "$r" -cf "$W/busybox.tar" .
"$W/berth" import "$W/busybox.tar" bench:1 >/dev/null
# Bundles for plain runc: berth's own config.json over an extracted rootfs, with and without the
# seccomp filter.
id=$("$W/berth" create --network none bench:1 true)
"$W/berth" start -a "$id" >/dev/null
mkdir -p "$W/rootfs" "$W/with" "$W/without" "$W/runc-state"
tar -C "$W/rootfs" -xf "$W/busybox.tar"
python3 - "$BERTH_ROOT/containers/$id" "$W" <<'PY'
import json, sys
ctr, w = sys.argv[1], sys.argv[2]
spec = json.load(open(ctr + "/config.json"))
spec["root"]["path"] = w + "/rootfs"
spec["mounts"] = [m for m in spec["mounts"] if not m["destination"].startswith("/etc/")]
for ns in spec["linux"]["namespaces"]:
    ns.pop("path", None)
for name in ("with", "without"):
    spec["linux"]["cgroupsPath"] = "/berth-bench/" + name
    if name == "without":
        spec["linux"].pop("seccomp", None)
    json.dump(spec, open(f"{w}/{name}/config.json", "w"))
PY
python3 "$HERE/bench/lib/interleave.py" "$RUNS" \
  "other berth" "$OTHER run --rm --network none bench:1 true" \
  "this berth" "$W/berth run --rm --network none bench:1 true" \
  "this berth, seccomp=unconfined" "$W/berth run --rm --network none --security-opt seccomp=unconfined bench:1 true" \
  "runc run, no filter" "runc --root $W/runc-state run --bundle $W/without bench-without" \
  "runc run, Docker's profile" "runc --root $W/runc-state run --bundle $W/with bench-with"
