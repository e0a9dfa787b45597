#!/usr/bin/env bash
# Benchmark: `berth image analyze` of a SIZE_MB, LAYERS-layer image (default 1000 MB, 20 layers),
# round-robin (bench/lib/interleave.py) with its peers on the same archive in the same run:
#   - dive --ci --source docker-archive FILE   (where dive is installed: target berth ≤ 0.5 × dive)
#   - tar -t over every layer of the archive    (the floor: one pass over the layers' headers)
# berth is timed on the archive file (docker-archive:FILE, nothing loaded) and on the same image
# loaded into a store (its layers gzip-compressed, as pulled images are).
#   usage: bench/analyze/run.sh     env: RUNS=5 SIZE_MB=1000 LAYERS=20 BENCH_TMP=/var/tmp DIVE=path
set -euo pipefail
cd "$(dirname "$0")/../.."
export GOTOOLCHAIN=local CGO_ENABLED=0
RUNS=${RUNS:-5}
SIZE_MB=${SIZE_MB:-1000}
LAYERS=${LAYERS:-20}
work=$(mktemp -d "${BENCH_TMP:-/var/tmp}/berth-bench-analyze.XXXXXX")
trap 'rm -rf "$work"' EXIT

go build -o "$work/berth" ./cmd/berth
go run ./bench/analyze/mkimage "$work/img.tar" "$SIZE_MB" "$LAYERS"
"$work/berth" --root "$work/root" load -q -i "$work/img.tar" >/dev/null
cat "$work/img.tar" >/dev/null # warm the page cache for every contender alike
echo "berth image analyze benchmark: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $(du -m "$work/img.tar" | cut -f1) MB archive, $LAYERS layers, $(tar -xOf "$work/img.tar" --wildcards '*/layer.tar' | tar -ti | wc -l) entries; $RUNS rounds"

dive=${DIVE:-$(command -v dive || true)}
if [[ -z "$dive" && -x "$HOME/go/bin/dive" ]]; then dive=$HOME/go/bin/dive; fi
args=(berth-archive "$work/berth --root $work/root image analyze --format json docker-archive:$work/img.tar"
  berth-store "$work/berth --root $work/root image analyze --format json bench/analyze:1"
  tar-t "tar -xOf $work/img.tar --wildcards '*/layer.tar' | tar -ti")
if [[ -n "$dive" ]]; then
  args+=(dive "env CI=true $dive --ci --source docker-archive $work/img.tar --lowestEfficiency 0 --highestUserWastedPercent disabled --ci-config /nonexistent")
else
  echo "dive is not installed (go install github.com/wagoodman/dive/cmd/dive@latest): comparing with tar -t only"
fi
INTERLEAVE_JSON=$work/times.json python3 bench/lib/interleave.py "$RUNS" "${args[@]}"
python3 - "$work/times.json" <<'PY'
import json, statistics, sys
t = json.load(open(sys.argv[1]))
m = {k: statistics.median(v) for k, v in t.items()}
for k in ("dive", "tar-t"):
    if k in m:
        print(f"berth-archive / {k}: {m['berth-archive'] / m[k]:.2f}   berth-store / {k}: {m['berth-store'] / m[k]:.2f}")
PY
