#!/bin/sh
# Builds Docker Compose v2 (the reference for `berth compose`) from the Go module proxy and prints the
# binary's path. `go install` refuses the module (it has replace directives), so the module is copied
# out of the module cache and built with `go build ./cmd` there. Idempotent: a cached binary is reused.
# The binary is written under a temporary name and renamed, so a concurrent reader never sees half of it.
set -eu
VERSION=${COMPOSE_V2_VERSION:-v2.40.3}
CACHE=${BERTH_CACHE:-/root/.cache/berth}
OUT="$CACHE/docker-compose-$VERSION"
if [ -x "$OUT" ]; then
	echo "$OUT"
	exit 0
fi
mkdir -p "$CACHE"
export GOTOOLCHAIN=${GOTOOLCHAIN:-local} CGO_ENABLED=0 GOFLAGS=-mod=mod
dir=$(go mod download -json "github.com/docker/compose/v2@$VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
[ -n "$dir" ] || { echo "compose-v2.sh: go mod download gave no directory" >&2; exit 1; }
work=$(mktemp -d "$CACHE/compose-src.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
cp -r "$dir/." "$work/"
chmod -R u+w "$work"
tmp="$OUT.tmp.$$"
(cd "$work" && go build -trimpath \
	-ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$VERSION" \
	-o "$tmp" ./cmd)
mv -f "$tmp" "$OUT"
echo "$OUT"
