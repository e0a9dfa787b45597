#!/bin/bash
# Benchmark: `berth compose up -d` and `down` against Docker Compose v2.40.3 on the reference
# dockerd, the same 3-service project (a web server with a published port, a "db" with a named
# volume, a worker; one network; stop_signal SIGKILL, so down measures the engines rather than
# busybox ignoring SIGTERM as PID 1 until the grace period ends), round-robin (bench/lib/interleave.py): berth up, berth down,
# docker compose up, docker compose down, in turn, every round.
# Targets (issue 14): berth's up -d and down each take at most 0.5x Docker Compose's.
# Needs root, runc, python3, busybox-static, a running dockerd with image reference-busybox:1,
# and Go (scripts/compose-v2.sh builds Docker Compose from the module proxy the first time).
#   usage: bench/compose/run.sh [RUNS]
set -euo pipefail
RUNS=${1:-15}
HERE=$(cd "$(dirname "$0")/../.." && pwd)
W=$(mktemp -d /tmp/berth-composebench.XXXXXX)
export BERTH_ROOT=$W/root
DC=$("$HERE/scripts/compose-v2.sh")
PB=cbb$$ PD=cbd$$
cleanup() {
  "$W/berth" compose -p "$PB" -f "$W/berth.yaml" down -v -t 1 >/dev/null 2>&1 || true
  "$DC" -p "$PD" -f "$W/docker.yaml" down -v -t 1 >/dev/null 2>&1 || true
  rm -rf "$W"
}
trap cleanup EXIT
(cd "$HERE" && GOTOOLCHAIN=local CGO_ENABLED=0 go build -o "$W/berth" ./cmd/berth)
r=$W/rootfs-src; mkdir -p "$r"/{bin,etc,tmp,root}; cp /bin/busybox "$r/bin/busybox"
for a in $(/bin/busybox --list); do [[ $a == busybox ]] || ln -sf busybox "$r/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$r/etc/passwd"; printf 'root:x:0:\n' >"$r/etc/group"
tar --sort=name --mtime=@0 --owner=0 --group=0 -C "$r" -cf "$W/busybox.tar" .
"$W/berth" import "$W/busybox.tar" bench:1 >/dev/null
docker image inspect reference-busybox:1 >/dev/null
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
project() { # IMAGE PORT
  cat <<YAML
services:
  web:
    image: $1
    command: ["httpd", "-f", "-p", "8080"]
    stop_signal: SIGKILL
    ports: ["127.0.0.1:$2:8080"]
    depends_on: [db]
  db:
    image: $1
    command: ["sleep", "600"]
    stop_signal: SIGKILL
    volumes: [data:/data]
  worker:
    image: $1
    command: ["sleep", "600"]
    stop_signal: SIGKILL
    depends_on: [db]
volumes:
  data:
YAML
}
project bench:1 "$(port)" >"$W/berth.yaml"
project reference-busybox:1 "$(port)" >"$W/docker.yaml"
B="$W/berth compose -p $PB -f $W/berth.yaml"
D="$DC -p $PD -f $W/docker.yaml"
INTERLEAVE_JSON=$W/result.json python3 "$HERE/bench/lib/interleave.py" "$RUNS" \
  "berth compose up -d" "$B up -d" \
  "berth compose down" "$B down -t 1" \
  "docker compose up -d" "$D up -d" \
  "docker compose down" "$D down -t 1"
python3 - "$W/result.json" <<'PY'
import json, statistics, sys
r = {k: statistics.median(v) for k, v in json.load(open(sys.argv[1])).items()}
for op in ("up -d", "down"):
    b, d = r["berth compose " + op], r["docker compose " + op]
    print(f"compose {op}: berth {b:.0f} ms, docker compose v2 {d:.0f} ms: {b / d:.2f}x (target <= 0.5x)")
PY
