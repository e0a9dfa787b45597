#!/usr/bin/env bash
# Pull/push benchmark (issue 3): a generated 6-layer image of about 400 MB unpacked, served by
# Debian's docker-registry on 127.0.0.1. Times berth pull (cold: empty store), berth push (to an
# empty registry), `skopeo copy docker://... oci:DIR` and, when a Docker daemon answers,
# `docker pull`, all in the same run, and prints the times and ratios.
#
# Then (issue 11 §4) the image whose pull suffers when the disk creates files slowly: 7 layers
# (busybox; two 40 MB random files; copies of /usr/lib/python3.11 and /usr/share/doc; a 60 MB
# text file; a few config files), berth pull and docker pull alternating (which goes first
# alternates too), each run printed with user/system CPU of berth, then medians and the ratio.
#
# With SLOW=1 each pull of the files shape starts in the disk's slow state, made on purpose as
# bench/pull/slowcreate.sh does: 6,000 files created and deleted, 2 s before the pull, in the
# directory that holds the engine's store (berth: the bench's work directory; dockerd: its
# overlay2 directory), so that the block group the store lives in has thousands of recently
# deleted inodes. SLOW=both runs every round twice, in the ordinary state and then the slow one.
#
#   bench/pull/run.sh    # root (berth unpacks with owners), docker-registry, skopeo
#   env: RUNS=3 DROP_CACHES=0 SHAPES="mixed files" SLOW=0|1|both BENCH_TMP=/var/tmp (stores on disk, not tmpfs)
#        BERTH_BIN=path: time that berth binary instead of building this tree's (before/after)
set -euo pipefail
cd "$(dirname "$0")/../.."
export GOTOOLCHAIN=local CGO_ENABLED=0

tmpbase=${BENCH_TMP:-/var/tmp}
[[ -d $tmpbase && -w $tmpbase ]] || tmpbase=${TMPDIR:-/tmp}
work=$(mktemp -d "$tmpbase/berth-bench-pull.XXXXXX")
shapes=${SHAPES:-"mixed files"}
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_registry() { # name port
	mkdir -p "$work/$1"
	cat >"$work/$1/config.yml" <<YML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $work/$1/data
http:
  addr: 127.0.0.1:$2
YML
	/usr/bin/docker-registry serve "$work/$1/config.yml" >"$work/$1/log" 2>&1 &
	pids+=($!)
	for _ in $(seq 100); do curl -fs "http://127.0.0.1:$2/v2/" >/dev/null && return 0; sleep 0.05; done
	echo "registry $1 did not start"; cat "$work/$1/log"; exit 1
}

now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2-$1:.2f}')"; }

echo "== build"
if [[ -n ${BERTH_BIN:-} ]]; then cp "$BERTH_BIN" "$work/berth"; else go build -o "$work/berth" ./cmd/berth; fi
go build -o "$work/gen" ./bench/pull/gen
have_docker=false
/usr/bin/docker info >/dev/null 2>&1 && have_docker=true
runs=${RUNS:-3}

mixed() {
"$work/gen" -o "$work/image"

src=$(free_port); start_registry src "$src"
ref=127.0.0.1:$src/bench:1
skopeo copy -q --dest-tls-verify=false "oci:$work/image" "docker://$ref"
compressed=$(du -sh "$work/image/blobs" | cut -f1)
echo "image: $ref ($compressed compressed)"
declare -a t_pull t_push t_skopeo t_docker
# Cold page cache for the first run only when asked (it slows everything else on the machine).
[[ ${DROP_CACHES:-0} == 1 ]] && { sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true; }
for i in $(seq "$runs"); do
	echo "== run $i/$runs"
	root=$work/berth-root-$i
	t0=$(now); BERTH_ROOT=$root "$work/berth" pull -q "$ref" >/dev/null; t1=$(now)
	t_pull+=("$(secs "$t0" "$t1")")

	dst=$(free_port); start_registry "dst$i" "$dst"
	BERTH_ROOT=$root "$work/berth" tag "$ref" "127.0.0.1:$dst/bench:1"
	t0=$(now); BERTH_ROOT=$root "$work/berth" push -q "127.0.0.1:$dst/bench:1" >/dev/null; t1=$(now)
	t_push+=("$(secs "$t0" "$t1")")
	rm -rf "$root"

	t0=$(now); skopeo copy -q --src-tls-verify=false "docker://$ref" "oci:$work/skopeo-$i:bench"; t1=$(now)
	t_skopeo+=("$(secs "$t0" "$t1")")
	rm -rf "$work/skopeo-$i"

	if $have_docker; then
		docker rmi -f "$ref" >/dev/null 2>&1 || true
		t0=$(now); docker pull -q "$ref" >/dev/null; t1=$(now)
		t_docker+=("$(secs "$t0" "$t1")")
		docker rmi -f "$ref" >/dev/null 2>&1 || true
	fi
	echo "berth pull ${t_pull[-1]}s, berth push ${t_push[-1]}s, skopeo copy ${t_skopeo[-1]}s${t_docker:+, docker pull ${t_docker[-1]}s}"
done

echo
echo "== results: median of $runs runs (6 layers, $compressed compressed, ~395 MB unpacked)"
python3 - "${t_pull[*]}" "${t_push[*]}" "${t_skopeo[*]}" "${t_docker[*]:-}" <<'PY'
import statistics, sys
med = lambda s: statistics.median(float(x) for x in s.split()) if s.strip() else None
pull, push, sk, dk = (med(a) for a in sys.argv[1:5])
print(f"{'berth pull (cold, unpacked)':30} {pull:7.2f}s")
print(f"{'berth push (empty registry)':30} {push:7.2f}s")
print(f"{'skopeo copy (no unpack)':30} {sk:7.2f}s")
if dk is not None:
    print(f"{'docker pull':30} {dk:7.2f}s")
print(f"berth pull / skopeo copy : {pull/sk:.2f}")
if dk is not None:
    print(f"berth pull / docker pull : {pull/dk:.2f}  (target <= 0.50)")
PY
}

# slow_state DIR: create and delete 6,000 files in a new directory below DIR, then wait 2 s (the
# deleted inodes count as recent from the next second on).
slow_state() {
	python3 - "$1" <<'PY'
import os, shutil, sys, tempfile, time
d = tempfile.mkdtemp(prefix=".berth-slowcreate-", dir=sys.argv[1])
for i in range(6000):
    os.close(os.open(f"{d}/f{i}", os.O_CREAT | os.O_WRONLY, 0o644))
shutil.rmtree(d)
time.sleep(2)
PY
}

# files: issue 11's 7-layer image, berth pull and docker pull alternating.
files() {
local states
case ${SLOW:-0} in
1) states=slow ;;
both) states="fast slow" ;;
*) states=fast ;;
esac
local docker_dir=
$have_docker && docker_dir=$(docker info -f '{{.DockerRootDir}}')/overlay2
"$work/gen" -shape files -o "$work/image-files"
local port; port=$(free_port); start_registry files "$port"
local ref=127.0.0.1:$port/bench-files:1
skopeo copy -q --dest-tls-verify=false "oci:$work/image-files" "docker://$ref"
echo "image: $ref ($(du -sh "$work/image-files/blobs" | cut -f1) compressed, 7 layers)"
local -a tb td tb_slow td_slow
local i state
for i in $(seq "$runs"); do
for state in $states; do
	local root=$work/berth-files-$i order=("berth" "docker")
	((i % 2 == 0)) && order=("docker" "berth")
	local line="run $i/$runs ($state state):"
	for who in "${order[@]}"; do
		sync
		if [[ $state == slow ]]; then
			if [[ $who == berth ]]; then slow_state "$work"; elif $have_docker; then slow_state "$docker_dir"; fi
		fi
		if [[ $who == berth ]]; then
			local t0 t1
			t0=$(now)
			/usr/bin/time -f "%U %S" -o "$work/time" env BERTH_ROOT="$root" "$work/berth" pull -q "$ref" >/dev/null
			t1=$(now)
			tb+=("$(secs "$t0" "$t1")")
			line+=" berth ${tb[-1]}s (user $(cut -d' ' -f1 "$work/time")s sys $(cut -d' ' -f2 "$work/time")s)"
		elif $have_docker; then
			docker rmi -f "$ref" >/dev/null 2>&1 || true
			t0=$(now); docker pull -q "$ref" >/dev/null; t1=$(now)
			td+=("$(secs "$t0" "$t1")")
			line+=" docker ${td[-1]}s"
			docker rmi -f "$ref" >/dev/null 2>&1 || true
		fi
	done
	rm -rf "$root"
	echo "$line"
	if [[ $state == slow ]]; then
		tb_slow+=("${tb[-1]}"); unset 'tb[-1]'
		if $have_docker; then td_slow+=("${td[-1]}"); unset 'td[-1]'; fi
	fi
done
done
local st
for st in $states; do
	local b d
	if [[ $st == slow ]]; then b="${tb_slow[*]}" d="${td_slow[*]:-}"; else b="${tb[*]}" d="${td[*]:-}"; fi
	python3 - "$st" "$b" "$d" <<'PY'
import statistics, sys
med = lambda s: statistics.median(float(x) for x in s.split()) if s.strip() else None
b, d = med(sys.argv[2]), med(sys.argv[3])
print(f"{sys.argv[1]} state, median of {len(sys.argv[2].split())}: berth pull {b:.2f}s" + (f", docker pull {d:.2f}s, berth/docker {b/d:.2f} (target <= 0.50)" if d else ""))
PY
done
}

for shape in $shapes; do
	echo
	echo "=== shape: $shape"
	"$shape"
done
