#!/usr/bin/env bash
# The test command: installs what the tests need, then vet, format check and every test.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local CGO_ENABLED=0
[[ $(id -u) == 0 ]] || { echo "run as root: the tests unpack layers with their owners and mount overlayfs"; exit 1; }
scripts/deps.sh
# SeaweedFS (for the S3 driver's tests) takes minutes to build the first time on a machine: start it
# now, beside the rest, and wait for it at the end.
registry/s3test.sh build >"${TMPDIR:-/tmp}/berth-weed-build.log" 2>&1 &
weed_build=$!
# Docker Compose v2 (the Engine API's acceptance: it drives berth serve) is built from the module
# proxy once and cached in ~/.cache/berth (6-9 minutes on a new machine): beside the rest too.
scripts/compose-v2.sh >"${TMPDIR:-/tmp}/berth-compose-build.log" 2>&1 &
compose_build=$!
# dive (for analysis's comparison with dive's own numbers) is no Debian package: build the pinned
# version once from the module proxy into ~/go/bin (about 90 s on a new machine), beside vet.
dive_version=v0.13.2-0.20250516191726-d6c691947f8f
if ! command -v dive >/dev/null && [[ ! -x ${GOPATH:-$HOME/go}/bin/dive ]]; then
  go install "github.com/wagoodman/dive/cmd/dive@$dive_version" >"${TMPDIR:-/tmp}/berth-dive-build.log" 2>&1 &
  dive_build=$!
fi
echo "== go vet"; go vet ./...
echo "== gofmt"; bad=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); [[ -z $bad ]] || { echo "gofmt needed: $bad"; exit 1; }
if [[ -n ${dive_build:-} ]]; then
  wait "$dive_build" || { cat "${TMPDIR:-/tmp}/berth-dive-build.log"; exit 1; }
fi
# TestComposeV2 runs at the end, once Compose v2 is surely built.
echo "== go test"; go test -count=1 -timeout 20m -skip 'TestComposeV2' ./...
# The patched copies of dependencies (third_party/*, used through replace lines) are modules of
# their own, which ./... leaves out: their own tests and vet, so a patch that breaks upstream's
# behaviour fails here.
echo "== third_party"; for d in third_party/*/; do (cd "$d" && go vet ./... && go test -count=1 ./...); done
# Interrupted builds and runs, and prune racing run, a few times over (scripts/torture.sh N for more).
echo "== torture (short)"; scripts/torture.sh 4
echo "== docker-py's own integration suite against berth serve"; scripts/docker-py.sh
echo "== Docker Compose v2 against berth serve"
wait "$compose_build" || { cat "${TMPDIR:-/tmp}/berth-compose-build.log"; exit 1; }
go test -count=1 -run 'TestComposeV2' ./api/
echo "== OCI distribution-spec conformance suite against berth registry serve"; registry/conformance.sh
# The S3 driver against a real S3-compatible server (SeaweedFS, built once from the Go module proxy
# and cached in ~/.cache/berth: the first run on a new machine spends several minutes building it).
echo "== registry S3 driver against SeaweedFS"
wait "$weed_build" || { cat "${TMPDIR:-/tmp}/berth-weed-build.log"; exit 1; }
registry/s3test.sh
