#!/bin/sh
# Tests the S3 storage driver against SeaweedFS, a real S3-compatible server, started by the tests
# on 127.0.0.1. SeaweedFS is built from the Go module proxy the first time (a few minutes; its
# module has a replace directive, so `go install module@version` refuses it and this script
# builds it inside its downloaded module instead) and cached under ~/.cache/berth.
#   registry/s3test.sh            # S3 unit/integration tests, replicas behind a round-robin proxy
#                                 # (a push alternating replicas, SeaweedFS killed mid-run, GC
#                                 # during pushes) and the OCI conformance suite on S3, on one
#                                 # process and through the proxy to two
#   registry/s3test.sh build      # only build (or find) SeaweedFS, e.g. in the background of CI
set -eu
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local CGO_ENABLED=0
WEED_VERSION=v0.0.0-20261109003541-7506e5f91cd6
cache="${XDG_CACHE_HOME:-$HOME/.cache}/berth"
weed="$cache/weed-$WEED_VERSION"
if [ ! -x "$weed" ]; then
	mkdir -p "$cache"
	dir=$(cd "$cache" && go mod download -json "github.com/seaweedfs/seaweedfs@$WEED_VERSION" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	(cd "$dir" && GOFLAGS=-buildvcs=false go build -o "$weed.tmp" ./weed)
	mv "$weed.tmp" "$weed"
fi
[ "${1:-}" = build ] && exit 0
export BERTH_WEED="$weed" BERTH_CONFORMANCE=1
exec go test ./registry/ -run 'S3' -count=1 -v -timeout 30m
