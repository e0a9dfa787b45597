#!/usr/bin/env bash
# Benchmark: `berth images` (default table, --format json, -q) over stores of 1,000 and 10,000 small
# distinct one-layer images spread over 50 repository names, each made by its own `berth import`
# process (as users fill a store; every process opens the state database afresh).
#
# Also checks that the state database's WAL stays bounded however many processes write (issue
# 11): the 1,000-image store is copied after its 1,000 imports, then takes CHURN more write
# processes (tag + rmi pairs, so the listing is unchanged) up to 10,000 writes; the listing over
# the copy and over the churned store must take the same time (within 20%). The WAL size is
# printed after every phase.
#
# Commands are timed round-robin (bench/lib/interleave.py); with the reference Docker up, the
# same 1,000 images are `docker load`ed and `docker images` runs in the same rounds (target:
# berth ≤ 0.1× docker). They are removed from Docker on exit.
# Targets: `images` under 20 ms for 1,000 and 300 ms for 10,000 on a 2-core machine. When a
# 10,000 listing is over 300 ms (or PROFILE=1), profiles `berth images` in-process.
#   usage: bench/images/run.sh      env: SIZES="1000 10000" WRITES=10000 RUNS=20 WORKERS=4
#                                        PROFILE=0 BENCH_TMP=/var/tmp DOCKER=1
set -euo pipefail
cd "$(dirname "$0")/../.."
export GOTOOLCHAIN=local CGO_ENABLED=0
SIZES=${SIZES:-"1000 10000"}
WRITES=${WRITES:-10000}
RUNS=${RUNS:-20}
WORKERS=${WORKERS:-4}
# On disk by default: the WAL's cost is reads and fsyncs, which tmpfs hides.
tmpbase=${BENCH_TMP:-/var/tmp}
[[ -d $tmpbase && -w $tmpbase ]] || tmpbase=${TMPDIR:-/tmp}
work=$(mktemp -d "$tmpbase/berth-bench-images.XXXXXX")
docker=/usr/bin/docker
docker_loaded=0
# Names of this run's own (the pid): two runs at once must not list or remove each other's images.
prefix=berthbench$$
cleanup() {
  if [[ $docker_loaded == 1 ]]; then
    $docker images -q --filter "reference=$prefix/*" | sort -u | xargs -r $docker rmi -f >/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/berth" ./cmd/berth
go build -o "$work/helper" ./bench/images
echo "berth images benchmark: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), store under $tmpbase"

now_ms() { echo $(($(date +%s%N) / 1000000)); }
wal() { local s; s=$(stat -c %s "$1/state.db-wal" 2>/dev/null || echo 0); awk -v s="$s" 'BEGIN { printf "%.2f MB", s / 1e6 }'; }
B=$work/berth

for n in $SIZES; do
  root=$work/root-$n
  t0=$(now_ms)
  "$work/helper" gen -berth "$B" -root "$root" -n "$n" -workers "$WORKERS" -prefix "$prefix"
  t1=$(now_ms)
  rows=$("$B" --root "$root" images -q | wc -l)
  echo "$n images ($rows rows): $n import processes ($WORKERS at a time) in $((t1 - t0)) ms ($(((t1 - t0) * WORKERS / n)) ms each); WAL $(wal "$root")"
  cmds=("images" "$B --root $root images")
  if ((n < WRITES)); then
    cp -a "$root" "$root-first"
    churn=$((WRITES - n))
    t0=$(now_ms)
    "$work/helper" churn -berth "$B" -root "$root" -n "$churn" -workers "$WORKERS" -prefix "$prefix"
    t1=$(now_ms)
    echo "  then $churn more write processes (tag/rmi) in $((t1 - t0)) ms: WAL $(wal "$root") after $WRITES writes"
    cmds=("images after $n writes" "$B --root $root-first images" "images after $WRITES writes" "$B --root $root images")
  fi
  if [[ ${DOCKER:-1} == 1 && $n == 1000 ]] && $docker info >/dev/null 2>&1; then
    t0=$(now_ms)
    "$B" --root "$root" save -o "$work/all.tar" $("$B" --root "$root" images --format '{{.Repository}}:{{.Tag}}' | grep -v churn)
    docker_loaded=1
    $docker load -q -i "$work/all.tar" >/dev/null
    rm -f "$work/all.tar"
    echo "  docker load of the same $n images: $(($(now_ms) - t0)) ms; docker lists $($docker images -q | wc -l) rows"
    cmds+=("docker images" "$docker images")
  fi
  cmds+=("images --format json" "$B --root $root images --format json"
    "images -q" "$B --root $root images -q"
    "--version (process floor)" "$B --root $root --version")
  INTERLEAVE_JSON=$work/times.json INTERLEAVE_CPU_JSON=$work/cpu.json python3 bench/lib/interleave.py "$RUNS" "${cmds[@]}" | sed 's/^/  /'
  python3 - "$work/times.json" "$work/cpu.json" "$n" "$WRITES" <<'PY'
import json, statistics, sys
t = {k: statistics.median(v) for k, v in json.load(open(sys.argv[1])).items()}
c = {k: statistics.median(v) for k, v in json.load(open(sys.argv[2])).items()}
n, w = sys.argv[3], sys.argv[4]
print("  CPU (user+sys) medians: " + ", ".join(f"{k} {v:.1f} ms" for k, v in c.items() if k != "docker images"))
a, b = f"images after {n} writes", f"images after {w} writes"
if a in t:
    for what, m in (("wall", t), ("CPU", c)):
        r = m[b] / m[a]
        print(f"  WAL: images after {w} writes / after {n} writes = {r:.2f} ({what} medians; flat means 0.80-1.20: {'ok' if 0.8 <= r <= 1.2 else 'NOT MET'})")
b = t.get(b) or t.get("images")
if "docker images" in t:
    r = b / t["docker images"]
    print(f"  berth images / docker images = {r:.3f} (median; target <= 0.1: {'ok' if r <= 0.1 else 'NOT MET'})")
PY
  table_ms=$(python3 -c 'import json,statistics,sys; t=json.load(open(sys.argv[1])); print(statistics.median(t.get("images") or t[[k for k in t if k.startswith("images after")][-1]]))' "$work/times.json")
  if [[ ${PROFILE:-0} == 1 ]] || { [[ $n -ge 10000 ]] && awk -v t="$table_ms" 'BEGIN { exit !(t > 300) }'; }; then
    echo "  profile of 'berth images' with $n images (in-process, 10 runs):"
    BERTH_CPUPROFILE=$work/cpu-$n.pprof "$work/helper" run -root "$root" -n 10 -- images | sed 's/^/    /'
    go tool pprof -top -cum -nodecount=40 "$work/helper" "$work/cpu-$n.pprof" 2>/dev/null | sed 's/^/    /'
  fi
done
