#!/bin/bash
# Benchmark: `berth run --rm --network none` of this tree next to the same run by another berth
# binary (e.g. one built from main before a change), interleaved round by round
# (bench/lib/interleave.py), on one store. Issue 13's target: seccomp on stays within 2 ms of the
# run before it. Also times `--security-opt seccomp=unconfined` to show the filter's own cost.
# Needs root, runc, python3 and busybox-static.
#   usage: bench/run/versus.sh OTHER-BERTH [RUNS]
set -euo pipefail
OTHER=${1:?usage: versus.sh OTHER-BERTH [RUNS]}
RUNS=${2:-40}
HERE=$(cd "$(dirname "$0")/../.." && pwd)
W=$(mktemp -d /tmp/berth-bench.XXXXXX)
export BERTH_ROOT=$W/root
trap 'rm -rf "$W"' EXIT
(cd "$HERE" && GOTOOLCHAIN=local CGO_ENABLED=0 go build -o "$W/berth" ./cmd/berth)
r=$W/rootfs-src; mkdir -p "$r"/{bin,etc,tmp,root}; cp /bin/busybox "$r/bin/busybox"
for a in $(/bin/busybox --list); do [[ $a == busybox ]] || ln -sf busybox "$r/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$r/etc/passwd"; printf 'root:x:0:\n' >"$r/etc/group"
tar --sort=name --mtime=@0 --owner=0 --group=0 -C "$r" -cf "$W/busybox.tar" .
"$W/berth" import "$W/busybox.tar" bench:1 >/dev/null
python3 "$HERE/bench/lib/interleave.py" "$RUNS" \
  "other berth" "$OTHER run --rm --network none bench:1 true" \
  "this berth" "$W/berth run --rm --network none bench:1 true" \
  "this berth, seccomp=unconfined" "$W/berth run --rm --network none --security-opt seccomp=unconfined bench:1 true"
