#!/usr/bin/env bash
# berth's main job on a real example: make a busybox base image from Debian's busybox-static,
# import it, list it, inspect it, save it to an archive `docker load` accepts, build an image on
# it from a Dockerfile with RUN, show how its layers are built, run that image, and run two
# containers on a network of their own that find each other by name, then a Compose application,
# then the Docker Engine API: `berth serve` on a socket, driven by the real docker CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local CGO_ENABLED=0
scripts/deps.sh
go build -o bin/berth ./cmd/berth
root=${BERTH_ROOT:-$(mktemp -d /tmp/berth-demo.XXXXXX)}
work=$(mktemp -d)
cleanup() {
  [[ -n ${serve_pid:-} ]] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
  bin/berth --root "$root" rm -f demo-web >/dev/null 2>&1 || true
  bin/berth --root "$root" network rm demo-net >/dev/null 2>&1 || true
  [[ -f $work/app/compose.yaml ]] && bin/berth --root "$root" compose -f "$work/app/compose.yaml" down -v -t 1 >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work"/rootfs/{bin,etc,tmp,root}
cp /bin/busybox "$work/rootfs/bin/busybox"
for a in $(/bin/busybox --list); do [[ $a == busybox ]] || ln -sf busybox "$work/rootfs/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$work/rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$work/rootfs/etc/group"
tar --sort=name --mtime=@0 --owner=0 --group=0 -C "$work/rootfs" -czf "$work/busybox.tar.gz" .
set -x
bin/berth --root "$root" import -c 'CMD ["sh"]' -m "busybox-static base" "$work/busybox.tar.gz" busybox:demo
bin/berth --root "$root" images
bin/berth --root "$root" history busybox:demo
bin/berth --root "$root" image inspect --format '{{.Id}} {{.Os}}/{{.Architecture}} {{json .Config.Cmd}}' busybox:demo
bin/berth --root "$root" save -o "$work/busybox-demo.tar" busybox:demo
tar -tf "$work/busybox-demo.tar"
mkdir -p "$work/ctx"
printf 'FROM busybox:demo\nRUN echo "built and run by berth" > /msg\nCMD ["cat", "/msg"]\n' >"$work/ctx/Dockerfile"
bin/berth --root "$root" build -t demo-app:1 "$work/ctx"
bin/berth --root "$root" image analyze demo-app:1
bin/berth --root "$root" run --rm demo-app:1
bin/berth --root "$root" network create demo-net
bin/berth --root "$root" run -d --name demo-web --network demo-net --network-alias web busybox:demo httpd -f -p 80 -h /etc
bin/berth --root "$root" run --rm --network demo-net busybox:demo nslookup web
bin/berth --root "$root" run --rm --network demo-net busybox:demo wget -qO- http://demo-web/passwd
bin/berth --root "$root" network ls
bin/berth --root "$root" rm -f demo-web
bin/berth --root "$root" network rm demo-net
mkdir -p "$work/app"
cat >"$work/app/compose.yaml" <<'YAML'
name: demo
services:
  seed:
    image: busybox:demo
    command: ["sh", "-c", "echo seeded by a one-shot service > /data/index.html"]
    volumes: [data:/data]
  web:
    image: busybox:demo
    command: ["httpd", "-f", "-p", "80", "-h", "/data"]
    ports: ["127.0.0.1:58089:80"]
    volumes: [data:/data]
    depends_on:
      seed: {condition: service_completed_successfully}
  api:
    image: busybox:demo
    command: ["sleep", "600"]
    stop_signal: SIGKILL
    deploy: {replicas: 2}
volumes:
  data:
YAML
bin/berth --root "$root" compose -f "$work/app/compose.yaml" up -d
bin/berth --root "$root" compose -f "$work/app/compose.yaml" ps -a
bin/berth --root "$root" compose -f "$work/app/compose.yaml" exec -T web nslookup api
wget -qO- http://127.0.0.1:58089/
bin/berth --root "$root" compose -f "$work/app/compose.yaml" down -v -t 1
bin/berth --root "$root" serve -H "unix://$work/berth.sock" 2>"$work/serve.log" &
serve_pid=$!
for _ in $(seq 100); do [[ -S $work/berth.sock ]] && break; sleep 0.1; done
docker=$(command -v docker || true)
if [[ -n $docker ]]; then
  DOCKER_HOST=unix://$work/berth.sock "$docker" version --format 'docker CLI {{.Client.Version}} -> berth {{.Server.Version}} (API {{.Server.APIVersion}})'
  DOCKER_HOST=unix://$work/berth.sock "$docker" run --rm busybox:demo echo "run by the docker CLI through berth serve"
  DOCKER_HOST=unix://$work/berth.sock "$docker" images
else
  curl -s --unix-socket "$work/berth.sock" http://berth/v1.41/images/json; echo
fi
bin/berth --root "$root" system df
