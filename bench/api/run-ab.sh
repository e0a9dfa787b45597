#!/bin/bash
# Before/after for issue 15's run target: `docker run --rm --network none busybox true` through a
# private dockerd 20.10 and through two `berth serve`s (an old and a new berth binary, each on its
# own root), interleaved round by round (bench/lib/interleave.py), then each serve's CPU per run:
# its own and its reaped children's (the shims, the runtime, the containers), from /proc/PID/stat.
# The spare shim alive at the end is not yet counted (one shim's start-up, about 12 ms in all).
# Needs root, dockerd, a runtime, python3 and busybox-static.
#   usage: bench/api/run-ab.sh RUNS OLD_BERTH NEW_BERTH
set -euo pipefail
RUNS=${1:?usage: run-ab.sh RUNS OLD_BERTH NEW_BERTH} OLD=${2:?old berth binary} NEW=${3:?new berth binary}
HERE=$(cd "$(dirname "$0")/../.." && pwd)
W=$(mktemp -d /tmp/berth-runab.XXXXXX)
DOCKER=/usr/bin/docker
cleanup() {
  set +e
  for p in ${pids:-}; do kill "$p"; wait "$p"; done 2>/dev/null
  if [[ -n ${dockerd_pid:-} ]]; then
    $DOCKER -H "unix://$W/docker.sock" ps -aq | xargs -r $DOCKER -H "unix://$W/docker.sock" rm -f >/dev/null
    kill "$dockerd_pid"; wait "$dockerd_pid"
  fi
  umount -R "$W"/old/containers/*/rootfs "$W"/new/containers/*/rootfs 2>/dev/null
  umount -R "$W"/docker/overlay2/*/merged 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT
r=$W/rootfs; mkdir -p "$r"/{bin,etc,tmp,root}; cp /bin/busybox "$r/bin/busybox"
for a in $(/bin/busybox --list); do [[ $a == busybox ]] || ln -sf busybox "$r/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$r/etc/passwd"; printf 'root:x:0:\n' >"$r/etc/group"
tar --sort=name --mtime=@0 --owner=0 --group=0 -C "$r" -cf "$W/busybox.tar" .
pids=
for n in old new; do
  bin=$OLD; [[ $n == new ]] && bin=$NEW
  "$bin" --root "$W/$n" import -c 'CMD ["sh"]' "$W/busybox.tar" busybox:latest >/dev/null
  "$bin" --root "$W/$n" serve -H "unix://$W/$n.sock" >"$W/$n.log" 2>&1 &
  pids="$pids $!"; eval "${n}_pid=$!"
done
dockerd --data-root "$W/docker" --exec-root "$W/dexec" -H "unix://$W/docker.sock" --pidfile "$W/dockerd.pid" \
  --containerd-namespace berthrunab --containerd-plugins-namespace berthrunab-plugins \
  --bridge none --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
  --userland-proxy=false >"$W/dockerd.log" 2>&1 &
dockerd_pid=$!
for _ in $(seq 300); do [[ -S $W/old.sock && -S $W/new.sock && -S $W/docker.sock ]] && $DOCKER -H "unix://$W/docker.sock" version >/dev/null 2>&1 && break; sleep 0.1; done
$DOCKER -H "unix://$W/docker.sock" import -c 'CMD ["sh"]' "$W/busybox.tar" busybox:latest >/dev/null
cpu() { awk '{print $14+$15+$16+$17}' "/proc/$1/stat"; }
o0=$(cpu "$old_pid") n0=$(cpu "$new_pid")
echo "load before: $(cat /proc/loadavg)"
INTERLEAVE_JSON=$W/run.json python3 "$HERE/bench/lib/interleave.py" "$RUNS" \
  dockerd "$DOCKER -H unix://$W/docker.sock run --rm --network none busybox true" \
  berth-old "$DOCKER -H unix://$W/old.sock run --rm --network none busybox true" \
  berth-new "$DOCKER -H unix://$W/new.sock run --rm --network none busybox true"
sleep 1
o1=$(cpu "$old_pid") n1=$(cpu "$new_pid")
echo "load after: $(cat /proc/loadavg)"
python3 - "$W" "$RUNS" "$o0" "$o1" "$n0" "$n1" "$(getconf CLK_TCK)" <<'PY'
import json, statistics, sys
w, runs = sys.argv[1], int(sys.argv[2]) + 3  # interleave.py's 3 warm-up rounds run too
o0, o1, n0, n1, hz = map(int, sys.argv[3:8])
t = json.load(open(f"{w}/run.json"))
d = statistics.median(t["dockerd"])
for n in ("berth-old", "berth-new"):
    print(f"ratio {n}: median {statistics.median(t[n]):.1f} ms vs dockerd {d:.1f} ms = {statistics.median(t[n])/d:.3f}x (target <= 0.3x)")
print(f"serve CPU per run (itself, its shims, the runtime, the containers): old {(o1-o0)*1000/hz/runs:.1f} ms, new {(n1-n0)*1000/hz/runs:.1f} ms")
PY
