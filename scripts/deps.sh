#!/usr/bin/env bash
# Installs the Debian packages berth's tests and demo use, only those missing (idempotent).
set -euo pipefail
declare -A want=(
  [busybox]=busybox-static [runc]=runc [docker-registry]=docker-registry [skopeo]=skopeo
  [umoci]=umoci [zstd]=zstd [xz]=xz-utils [bzip2]=bzip2 [gzip]=gzip [hyperfine]=hyperfine
)
missing=()
for cmd in "${!want[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${want[$cmd]}")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
