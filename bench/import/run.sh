#!/usr/bin/env bash
# Benchmark: `berth import` of a ~100 MB rootfs tar (a few big incompressible files and many small
# text files), next to the physical floor measured in the same run on the same file: `sha256sum`
# (hashing) and `gzip -1` (the layer compression import does). Prints MB/s (wall, median of RUNS)
# and CPU seconds for each, and the ratio berth / (sha256sum + gzip -1) in wall time.
#   usage: bench/import/run.sh            env: RUNS=3 BENCH_TMP=/var/tmp (a disk, as a real store)
set -euo pipefail
cd "$(dirname "$0")/../.."
export GOTOOLCHAIN=local CGO_ENABLED=0
RUNS=${RUNS:-3}
work=$(mktemp -d "${BENCH_TMP:-/var/tmp}/berth-bench-import.XXXXXX")
trap 'rm -rf "$work"' EXIT

go build -o "$work/berth" ./cmd/berth

# The rootfs: 4 × 20 MB of random bytes, about 1,900 text files of 10 kB (19 MB of `seq`), a few directories.
src=$work/rootfs
mkdir -p "$src"/{bin,etc,usr/share/doc,var/lib/data}
for i in 1 2 3 4; do head -c 20M /dev/urandom >"$src/var/lib/data/blob$i.bin"; done
seq 1 2600000 | head -c 20480000 >"$work/text"
(cd "$src/usr/share/doc" && split -b 10240 -a 4 "$work/text" doc-)
rm "$work/text"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$src/etc/passwd"
tar --sort=name --mtime=@0 --owner=0 --group=0 -C "$src" -cf "$work/rootfs.tar" .
rm -rf "$src"
bytes=$(stat -c %s "$work/rootfs.tar")
mb=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1e6 }')
files=$(tar -tf "$work/rootfs.tar" | wc -l)
cat "$work/rootfs.tar" >/dev/null # warm the page cache for every contender alike
echo "berth import benchmark: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); input $mb MB, $files entries, under ${BENCH_TMP:-/var/tmp}; median of $RUNS runs"

# timeit NAME SETUP CMD...: runs SETUP (untimed) then CMD, RUNS times; sets $med_s (wall seconds).
timeit() {
  local name=$1 setup=$2
  shift 2
  local walls=() cpus=() t0 t1 cpu
  for _ in $(seq "$RUNS"); do
    eval "$setup"
    t0=$(date +%s%N)
    /usr/bin/time -o "$work/cpu" -f '%U %S' "$@" >/dev/null
    cpu=$(tail -1 "$work/cpu")
    t1=$(date +%s%N)
    walls+=($((t1 - t0)))
    cpus+=("$(awk '{ printf "%.2f", $1 + $2 }' <<<"$cpu")")
  done
  med_s=$(printf '%s\n' "${walls[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "%.3f", a[int((NR + 1) / 2)] / 1e9 }')
  local cpu_med
  cpu_med=$(printf '%s\n' "${cpus[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
  printf '  %-28s %7.3f s  %7.1f MB/s   CPU %5s s\n' "$name" "$med_s" "$(awk -v m="$mb" -v s="$med_s" 'BEGIN { print m / s }')" "$cpu_med"
}

if [[ ! -x /usr/bin/time ]]; then
  # Without GNU time, measure wall time only.
  timeit() {
    local name=$1 setup=$2
    shift 2
    local walls=() t0
    for _ in $(seq "$RUNS"); do
      eval "$setup"
      t0=$(date +%s%N)
      "$@" >/dev/null
      walls+=($(($(date +%s%N) - t0)))
    done
    med_s=$(printf '%s\n' "${walls[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "%.3f", a[int((NR + 1) / 2)] / 1e9 }')
    printf '  %-28s %7.3f s  %7.1f MB/s\n' "$name" "$med_s" "$(awk -v m="$mb" -v s="$med_s" 'BEGIN { print m / s }')"
  }
fi

timeit "berth import FILE" 'rm -rf "$work/root"' "$work/berth" --root "$work/root" import "$work/rootfs.tar" bench:1
berth_s=$med_s
timeit "sha256sum FILE" ':' sha256sum "$work/rootfs.tar"
sha_s=$med_s
timeit "gzip -1 -c FILE >/dev/null" ':' gzip -1 -c "$work/rootfs.tar"
gz_s=$med_s
floor=$(awk -v a="$sha_s" -v b="$gz_s" 'BEGIN { printf "%.3f", a + b }')
printf '  %-28s %7.3f s  %7.1f MB/s\n' "sha256sum + gzip -1 (floor)" "$floor" "$(awk -v m="$mb" -v s="$floor" 'BEGIN { print m / s }')"
printf '  ratio berth / (sha256sum + gzip -1) = %s (wall time; below 1 is faster than the floor run one after the other)\n' \
  "$(awk -v a="$berth_s" -v b="$floor" 'BEGIN { printf "%.2f", a / b }')"
# Check the import is whole: the image's diff ID is the tar's sha256.
want="sha256:$(sha256sum "$work/rootfs.tar" | cut -d' ' -f1)"
got=$("$work/berth" --root "$work/root" inspect --format '{{index .RootFS.Layers 0}}' bench:1)
[[ $got == "$want" ]] || { echo "diff ID $got, want $want" >&2; exit 1; }
