#!/bin/bash
# Benchmark: what a network costs `berth run --rm`. Round-robin (bench/lib/interleave.py):
# `--network none` (the peer: no network at all), the default bridge, and a user-defined network
# (bridge + embedded DNS resolver), and the default bridge made by the CNI plugins as berth did
# before (BERTH_CNI_BRIDGE=1, the reference for the in-process endpoint), then a traced run of each showing where the time goes
# (BERTH_NETWORK_TRACE: namespace, CNI plugins, endpoint record, resolver, lease release).
# Target (issue 14): a network adds at most 15 ms over --network none.
# Needs root, runc, python3, busybox-static, containernetworking-plugins, iptables, iproute2.
#   usage: bench/network/run.sh [RUNS]
set -euo pipefail
RUNS=${1:-30}
HERE=$(cd "$(dirname "$0")/../.." && pwd)
W=$(mktemp -d /tmp/berth-netbench.XXXXXX)
export BERTH_ROOT=$W/root
NET=bench-$$
cleanup() {
  "$W/berth" network rm "$NET" >/dev/null 2>&1 || true
  rm -rf "$W"
}
trap cleanup EXIT
(cd "$HERE" && GOTOOLCHAIN=local CGO_ENABLED=0 go build -o "$W/berth" ./cmd/berth)
r=$W/rootfs-src; mkdir -p "$r"/{bin,etc,tmp,root}; cp /bin/busybox "$r/bin/busybox"
for a in $(/bin/busybox --list); do [[ $a == busybox ]] || ln -sf busybox "$r/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$r/etc/passwd"; printf 'root:x:0:\n' >"$r/etc/group"
tar --sort=name --mtime=@0 --owner=0 --group=0 -C "$r" -cf "$W/busybox.tar" .
"$W/berth" import "$W/busybox.tar" bench:1 >/dev/null
"$W/berth" network create "$NET" >/dev/null
B="$W/berth"
INTERLEAVE_JSON=$W/result.json python3 "$HERE/bench/lib/interleave.py" "$RUNS" \
  "--network none" "$B run --rm --network none bench:1 true" \
  "default bridge" "$B run --rm bench:1 true" \
  "user network" "$B run --rm --network $NET bench:1 true" \
  "default bridge, CNI plugins" "env BERTH_CNI_BRIDGE=1 $B run --rm bench:1 true"
python3 - "$W/result.json" <<'PY'
import json, statistics, sys
r = {k: statistics.median(v) for k, v in json.load(open(sys.argv[1])).items()}
n = r["--network none"]
for k in ("default bridge", "user network", "default bridge, CNI plugins"):
    print(f"{k}: median {r[k]:.1f} ms = --network none ({n:.1f} ms) + {r[k] - n:.1f} ms (target: + 15 ms)")
PY
echo "where the time goes (mean of 5 traced runs each, ms):"
for mode in bridge "$NET"; do
  for i in 1 2 3 4 5; do BERTH_NETWORK_TRACE=1 "$B" run --rm --network "$mode" bench:1 true 2>&1 >/dev/null | grep '^berth-network-trace' | sed "s/^/$mode\t/" || true; done
done | awk -F'\t' '{k=$1 "\t" $3; s[k]+=$4; n[k]++} END {for (k in s) printf "  %-40s %7.1f\n", k, s[k]/n[k]}' | sort
