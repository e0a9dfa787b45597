#!/usr/bin/env bash
# docker-py's own integration suite (../shared/third_party/docker-py-7.1.0, or DOCKER_PY_DIR)
# against `berth serve`: the Engine API issue's acceptance test. It starts berth serve on a fresh
# root, makes the images the suite would pull from Docker Hub out of Debian's busybox-static, runs
# the tests that pass against dockerd 20.10 on this machine (passes-on-dockerd-20.10.txt), and
# prints pytest's summary. Arguments narrow the run (test files or node ids, or -k EXPR).
#
#   scripts/docker-py.sh                                   # the whole list
#   scripts/docker-py.sh tests/integration/api_image_test.py
#   scripts/docker-py.sh -k test_create_with_host_pid_mode
#
# Leaves out what cannot pass here: see EXCLUDED below.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local CGO_ENABLED=0
suite=${DOCKER_PY_DIR:-$(cd .. && pwd)/shared/third_party/docker-py-7.1.0}
[[ -d $suite/tests/integration ]] || { echo "docker-py's suite not found at $suite (set DOCKER_PY_DIR)"; exit 2; }
/usr/bin/python3 -c 'import pytest, docker, pytest_timeout' 2>/dev/null ||
  apt-get -o DPkg::Lock::Timeout=120 install -y -q python3-docker python3-pytest python3-pytest-timeout python3-paramiko >/dev/null
go build -o bin/berth ./cmd/berth
berth=$PWD/bin/berth # absolute: the suite runs from its own directory, and so does the clean-up
root=$(mktemp -d /tmp/berth-dockerpy.XXXXXX)
sock=$root/berth.sock
work=$(mktemp -d)
cleanup() {
  [[ -n ${serve_pid:-} ]] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
  for id in $("$berth" --root "$root" ps -aq 2>/dev/null); do "$berth" --root "$root" rm -f "$id" >/dev/null 2>&1 || true; done
  for n in $("$berth" --root "$root" network ls -q --filter type=custom 2>/dev/null); do "$berth" --root "$root" network rm "$n" >/dev/null 2>&1 || true; done
  "$berth" --root "$root" volume prune -f >/dev/null 2>&1 || true
  umount -R "$root"/containers/*/rootfs 2>/dev/null || true
  for m in "$root"/netns/*; do [[ -e $m ]] && umount "$m" 2>/dev/null; done
  rm -rf "$root" "$work"
}
trap cleanup EXIT

# The images the suite pulls from Docker Hub, made locally from busybox-static.
mkdir -p "$work"/rootfs/{bin,etc,tmp,root,home}
cp /bin/busybox "$work/rootfs/bin/busybox"
for a in $(/bin/busybox --list); do [[ $a == busybox ]] || ln -sf busybox "$work/rootfs/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$work/rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$work/rootfs/etc/group"
tar --sort=name --mtime=@0 --owner=0 --group=0 -C "$work/rootfs" -czf "$work/busybox.tar.gz" .
"$berth" --root "$root" import -c 'CMD ["sh"]' "$work/busybox.tar.gz" busybox:latest >/dev/null
for t in alpine:3.10 alpine:latest hello-world:latest busybox:buildroot-2014.02; do "$berth" --root "$root" tag busybox:latest "$t"; done

"$berth" --root "$root" serve -H "unix://$sock" >"$root/serve.log" 2>&1 &
serve_pid=$!
for _ in $(seq 100); do [[ -S $sock ]] && break; sleep 0.1; done
[[ -S $sock ]] || { cat "$root/serve.log"; exit 1; }

# Tests dockerd passes here that berth does not pass, each with its reason. The swarm ones cannot
# pass (berth has no swarm mode); the rest are features berth lacks today, listed so that CI fails
# on any other regression (the Engine API issue's note says what is left).
EXCLUDED=(
  "tests/integration/api_network_test.py::TestNetworks::test_create_network_attachable swarm: berth has no swarm mode"
  "tests/integration/api_network_test.py::TestNetworks::test_create_network_ingress swarm: berth has no swarm mode"
  "tests/integration/api_network_test.py::TestNetworks::test_create_inspect_network_with_scope swarm: berth has no swarm mode"
)
tests=("$@")
if [[ ${#tests[@]} -eq 0 || ${tests[0]} == -* ]]; then
  mapfile -t list < <(grep -v '^#' "$suite/passes-on-dockerd-20.10.txt")
  tests=("${list[@]}" "$@")
fi
deselect=()
for e in "${EXCLUDED[@]}"; do deselect+=(--deselect "${e%% *}"); done
cd "$suite"
status=0
PYTHONPATH=$PWD DOCKER_HOST=unix://$sock /usr/bin/python3 -m pytest -p no:cacheprovider --timeout 120 -q -rfEs \
  "${deselect[@]}" "${tests[@]}" || status=$?
echo "berth serve's log: last lines"; tail -20 "$root/serve.log"
exit $status
