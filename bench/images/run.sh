#!/usr/bin/env bash
# Benchmark: `berth images` (default table, --format json, -q) over stores of 1,000 and 10,000 small
# distinct one-layer images spread over 50 repository names. Prints the median milliseconds per listing
# (wall) and the mean CPU time (user+sys, steadier on a loaded machine). Targets (issue 2): under 20 ms
# for 1,000 and 300 ms for 10,000 on a 2-core machine. When a 10,000 listing is over 300 ms (or
# PROFILE=1), profiles `berth images` in-process and prints where the time goes.
#   usage: bench/images/run.sh            env: SIZES="1000 10000" RUNS=20 PROFILE=0 BENCH_TMP=/dev/shm
set -euo pipefail
cd "$(dirname "$0")/../.."
export GOTOOLCHAIN=local CGO_ENABLED=0
SIZES=${SIZES:-"1000 10000"}
RUNS=${RUNS:-20}
tmpbase=${BENCH_TMP:-/dev/shm}
[[ -d $tmpbase && -w $tmpbase ]] || tmpbase=${TMPDIR:-/tmp}
work=$(mktemp -d "$tmpbase/berth-bench-images.XXXXXX")
trap 'rm -rf "$work"' EXIT

go build -o "$work/berth" ./cmd/berth
go build -o "$work/helper" ./bench/images
echo "berth images benchmark: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), store under $tmpbase"

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# measure NAME ARGS...: prints "NAME: median X ms (wall), CPU Y ms"; sets $median_ms.
measure() {
  local name=$1
  shift
  if command -v hyperfine >/dev/null; then
    hyperfine -N --warmup 2 --runs "$RUNS" --export-json "$work/h.json" "$*" >/dev/null 2>&1
    local med user sys
    med=$(sed -n 's/.*"median": *\([0-9.e-]*\).*/\1/p' "$work/h.json" | head -1)
    user=$(sed -n 's/.*"user": *\([0-9.e-]*\).*/\1/p' "$work/h.json" | head -1)
    sys=$(sed -n 's/.*"system": *\([0-9.e-]*\).*/\1/p' "$work/h.json" | head -1)
    median_ms=$(awk -v m="$med" 'BEGIN { printf "%.1f", m * 1000 }')
    printf '  %-26s median %7s ms (wall)   CPU %6s ms (user+sys, mean)\n' "$name" "$median_ms" \
      "$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.1f", (u + s) * 1000 }')"
  else
    local times=() t0
    "$@" >/dev/null
    for _ in $(seq "$RUNS"); do
      t0=$(date +%s%N)
      "$@" >/dev/null
      times+=($((($(date +%s%N) - t0) / 1000)))
    done
    median_ms=$(printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "%.1f", a[int((NR + 1) / 2)] / 1000 }')
    printf '  %-26s median %7s ms (wall; hyperfine not installed)\n' "$name" "$median_ms"
  fi
}

for n in $SIZES; do
  root=$work/root-$n
  t0=$(now_ms)
  "$work/helper" gen -root "$root" -n "$n" -repos 50
  t1=$(now_ms)
  rows=$("$work/berth" --root "$root" images -q | wc -l)
  echo "$n images ($rows rows) generated in $(((t1 - t0))) ms; $RUNS runs each:"
  measure "images" "$work/berth" --root "$root" images
  table_ms=$median_ms
  measure "images --format json" "$work/berth" --root "$root" images --format json
  measure "images -q" "$work/berth" --root "$root" images -q
  measure "version (process floor)" "$work/berth" --root "$root" version
  if [[ ${PROFILE:-0} == 1 ]] || { [[ $n -ge 10000 ]] && awk -v t="$table_ms" 'BEGIN { exit !(t > 300) }'; }; then
    echo "  profile of 'berth images' with $n images (in-process, 10 runs):"
    BERTH_CPUPROFILE=$work/cpu-$n.pprof "$work/helper" run -root "$root" -n 10 -- images | sed 's/^/    /'
    go tool pprof -top -cum -nodecount=40 "$work/helper" "$work/cpu-$n.pprof" 2>/dev/null | sed 's/^/    /'
  fi
done
