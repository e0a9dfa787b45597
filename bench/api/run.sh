#!/bin/bash
# Benchmark: `berth serve` next to dockerd 20.10, same client, interleaved round by round
# (bench/lib/interleave.py). Issue 15's targets: GET /containers/json and GET /images/json at
# 1,000 objects <= 0.3x dockerd's latency; `docker run --rm busybox true` through berth serve
# <= 0.3x through dockerd; berth serve's idle RSS <= 0.5x dockerd's.
#
# dockerd here is a private instance (its own data root, exec root, socket and containerd
# namespace; no bridge, no iptables), so the reference daemon's images and containers are not
# touched and the numbers are for a fresh daemon, as berth's are for a fresh root. Containers run
# with --network none on both sides (this measures the engines, not bridge set-up).
# Needs root, dockerd, runc, curl, python3 and busybox-static.
#   usage: bench/api/run.sh [RUNS]      env: N (objects, default 1000)
set -euo pipefail
RUNS=${1:-20}
N=${N:-1000}
HERE=$(cd "$(dirname "$0")/../.." && pwd)
W=$(mktemp -d /tmp/berth-apibench.XXXXXX)
DOCKER=/usr/bin/docker
BSOCK=$W/berth.sock DSOCK=$W/docker.sock
cleanup() {
  set +e
  [[ -n ${serve_pid:-} ]] && kill "$serve_pid" && wait "$serve_pid"
  if [[ -n ${dockerd_pid:-} ]]; then
    $DOCKER -H "unix://$DSOCK" ps -aq | xargs -r $DOCKER -H "unix://$DSOCK" rm -f >/dev/null
    kill "$dockerd_pid"; wait "$dockerd_pid"
  fi
  for id in $("$W/berth" --root "$W/root" ps -aq 2>/dev/null); do "$W/berth" --root "$W/root" rm -f "$id" >/dev/null; done
  umount -R "$W"/root/containers/*/rootfs 2>/dev/null
  umount -R "$W"/docker/overlay2/*/merged 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT
(cd "$HERE" && GOTOOLCHAIN=local CGO_ENABLED=0 go build -o "$W/berth" ./cmd/berth)
B() { "$W/berth" --root "$W/root" "$@"; }
D() { $DOCKER -H "unix://$DSOCK" "$@"; }

# busybox, the same tarball on both sides.
r=$W/rootfs; mkdir -p "$r"/{bin,etc,tmp,root}; cp /bin/busybox "$r/bin/busybox"
for a in $(/bin/busybox --list); do [[ $a == busybox ]] || ln -sf busybox "$r/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$r/etc/passwd"; printf 'root:x:0:\n' >"$r/etc/group"
tar --sort=name --mtime=@0 --owner=0 --group=0 -C "$r" -cf "$W/busybox.tar" .
python3 "$HERE/bench/api/mkimages.py" "$N" "$W/images.tar"

B import -c 'CMD ["sh"]' "$W/busybox.tar" busybox:latest >/dev/null
"$W/berth" --root "$W/root" serve -H "unix://$BSOCK" >"$W/serve.log" 2>&1 &
serve_pid=$!
dockerd --data-root "$W/docker" --exec-root "$W/dexec" -H "unix://$DSOCK" --pidfile "$W/dockerd.pid" \
  --containerd-namespace berthbench --containerd-plugins-namespace berthbench-plugins \
  --bridge none --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
  --userland-proxy=false >"$W/dockerd.log" 2>&1 &
dockerd_pid=$!
for _ in $(seq 300); do [[ -S $BSOCK && -S $DSOCK ]] && D version >/dev/null 2>&1 && break; sleep 0.1; done
D import -c 'CMD ["sh"]' "$W/busybox.tar" busybox:latest >/dev/null

rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
containerd_pid() { pgrep -f "containerd --config $W/dexec/containerd/containerd.toml" | head -1; }
sleep 3
b0=$(rss $serve_pid) d0=$(rss $dockerd_pid) c0=$(rss "$(containerd_pid)")
echo "idle RSS when fresh: berth serve $b0 kB, dockerd $d0 kB (its containerd $c0 kB)"

echo "== docker run --rm --network none busybox true ($RUNS rounds, docker 20.10 client)"
INTERLEAVE_JSON=$W/run.json python3 "$HERE/bench/lib/interleave.py" "$RUNS" \
  dockerd "$DOCKER -H unix://$DSOCK run --rm --network none busybox true" \
  berth-serve "$DOCKER -H unix://$BSOCK run --rm --network none busybox true"

echo "== loading $N images and creating $N containers on each side"
B load -i "$W/images.tar" >/dev/null
D load -i "$W/images.tar" >/dev/null
seq "$N" | xargs -P 2 -I{} "$W/berth" --root "$W/root" create --network none busybox true >/dev/null
seq "$N" | xargs -P 2 -I{} $DOCKER -H "unix://$DSOCK" create --network none busybox true >/dev/null
echo "images: berth $(B images -q | wc -l), dockerd $(D images -q | wc -l); containers: berth $(B ps -aq | wc -l), dockerd $(D ps -aq | wc -l)"

get() { echo "curl -sf --unix-socket $1 -o /dev/null http://localhost/v1.41/$2"; }
echo "== GET /containers/json?all=1 at $N containers ($RUNS rounds)"
INTERLEAVE_JSON=$W/ps.json python3 "$HERE/bench/lib/interleave.py" "$RUNS" \
  dockerd "$(get "$DSOCK" 'containers/json?all=1')" berth-serve "$(get "$BSOCK" 'containers/json?all=1')"
echo "== GET /images/json at $N images ($RUNS rounds)"
INTERLEAVE_JSON=$W/images.json python3 "$HERE/bench/lib/interleave.py" "$RUNS" \
  dockerd "$(get "$DSOCK" images/json)" berth-serve "$(get "$BSOCK" images/json)"

sleep 3
b1=$(rss $serve_pid) d1=$(rss $dockerd_pid)
echo "idle RSS after the runs: berth serve $b1 kB, dockerd $d1 kB (its containerd $(rss "$(containerd_pid)") kB)"
python3 - "$W" "$b0" "$d0" "$c0" "$b1" "$d1" <<'PY'
import json, statistics, sys
w = sys.argv[1]
for name, what, target in (("run", "docker run --rm", 0.3), ("ps", "GET /containers/json", 0.3), ("images", "GET /images/json", 0.3)):
    t = json.load(open(f"{w}/{name}.json"))
    r = statistics.median(t["berth-serve"]) / statistics.median(t["dockerd"])
    print(f"ratio {what:22s} berth/dockerd = {r:.2f}x (median; target <= {target}x)")
b0, d0, c0, b1, d1 = map(int, sys.argv[2:7])
print(f"ratio {'idle RSS (fresh)':22s} berth/dockerd = {b0/d0:.2f}x (target <= 0.5x; {b0/(d0+c0):.2f}x of dockerd+containerd)")
print(f"ratio {'idle RSS (after runs)':22s} berth/dockerd = {b1/d1:.2f}x")
PY
