#!/usr/bin/env bash
# Benchmark: `berth ps -a` over N created (never started) containers against `docker ps -a`
# over as many on the reference daemon, interleaved round by round (bench/lib/interleave.py).
# Issue 11 asks for it beside `images`; the listing's target is the same (≤ 0.1× Docker).
# The Docker containers are named berthbench-ps-* and removed on exit.
#   usage: bench/ps/run.sh        env: N=200 RUNS=20 BENCH_TMP=/var/tmp
set -euo pipefail
cd "$(dirname "$0")/../.."
export GOTOOLCHAIN=local CGO_ENABLED=0
N=${N:-200}
RUNS=${RUNS:-20}
tmpbase=${BENCH_TMP:-/var/tmp}
work=$(mktemp -d "$tmpbase/berth-bench-ps.XXXXXX")
docker=/usr/bin/docker
cleanup() {
  $docker ps -aq --filter name=berthbench-ps- | xargs -r $docker rm -f >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/berth" ./cmd/berth
B="$work/berth --root $work/root"
bb=/var/tmp/docker-reference/busybox.tar
if [[ ! -f $bb ]]; then
  r=$work/rootfs; mkdir -p "$r/bin"; cp /bin/busybox "$r/bin/busybox"; ln -s busybox "$r/bin/sh"
  tar -C "$r" -cf "$work/busybox.tar" .; bb=$work/busybox.tar
fi
$B import "$bb" bench:1 >/dev/null
have_docker=false
$docker image inspect reference-busybox:1 >/dev/null 2>&1 && have_docker=true
echo "ps benchmark: $N containers each, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
t0=$(date +%s%N)
for i in $(seq "$N"); do $B create --network none --name "berthbench-ps-$i" bench:1 true >/dev/null; done
echo "  berth create x$N: $((($(date +%s%N) - t0) / 1000000)) ms"
cmds=("berth ps -a" "$B ps -a")
if $have_docker; then
  t0=$(date +%s%N)
  for i in $(seq "$N"); do $docker create --network none --name "berthbench-ps-$i" reference-busybox:1 true >/dev/null; done
  echo "  docker create x$N: $((($(date +%s%N) - t0) / 1000000)) ms"
  cmds+=("docker ps -a" "$docker ps -a")
fi
cmds+=("berth ps -a -q" "$B ps -a -q" "berth --version (floor)" "$B --version")
INTERLEAVE_JSON=$work/t.json INTERLEAVE_CPU_JSON=$work/c.json python3 bench/lib/interleave.py "$RUNS" "${cmds[@]}" | sed 's/^/  /'
python3 - "$work/t.json" "$work/c.json" <<'PY'
import json, statistics, sys
t = {k: statistics.median(v) for k, v in json.load(open(sys.argv[1])).items()}
c = {k: statistics.median(v) for k, v in json.load(open(sys.argv[2])).items()}
print("  CPU (user+sys) medians: " + ", ".join(f"{k} {v:.1f} ms" for k, v in c.items() if not k.startswith("docker")))
if "docker ps -a" in t:
    r = t["berth ps -a"] / t["docker ps -a"]
    print(f"  berth ps -a / docker ps -a = {r:.3f} (median; target <= 0.1: {'ok' if r <= 0.1 else 'NOT MET'})")
PY
