#!/bin/sh
# berth's registry as 1, 2 and 4 replicas over one SeaweedFS bucket behind a round-robin
# balancer, next to distribution 2.8 (Debian's docker-registry) over the same bucket: 32 clients
# pushing and pulling distinct images, then GETting manifests; throughput, p99, peak RSS.
#   bench/registry/replicas.sh                   # the replica comparison
#   bench/registry/replicas.sh -catalog          # _catalog / tags/list pages at 5,000 repos, 20,000 tags
#   bench/registry/replicas.sh -rounds 5 -c 64   # any flag of bench/registry/replicas/main.go
set -eu
cd "$(dirname "$0")/../.."
export GOTOOLCHAIN=local CGO_ENABLED=0
registry/s3test.sh build
weed=$(ls -t "${XDG_CACHE_HOME:-$HOME/.cache}"/berth/weed-* | head -1)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/berth" ./cmd/berth
go build -o "$tmp/replicas" ./bench/registry/replicas
dist=/usr/bin/docker-registry
[ -x "$dist" ] || { echo "docker-registry not installed (apt-get install docker-registry): measuring berth alone" >&2; dist=; }
exec "$tmp/replicas" -weed "$weed" -berth "$tmp/berth" -docker-registry "$dist" "$@"
