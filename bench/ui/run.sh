#!/usr/bin/env bash
# Benchmark of the web UI's targets (issue 17): the images page with 1,000 images interactive
# within 300 ms of navigation, and `berth ui` under 50 MB RSS idle. Needs chromium.
# No peer runs here: neither Docker Desktop nor Podman Desktop is on this machine.
#   usage: bench/ui/run.sh      env: N=1000 RUNS=10
set -euo pipefail
cd "$(dirname "$0")/../.."
export GOTOOLCHAIN=local CGO_ENABLED=0
command -v chromium >/dev/null || { echo "bench/ui needs chromium (apt-get install chromium)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/berth" ./cmd/berth
go build -o "$work/bench-ui" ./bench/ui
"$work/bench-ui" -berth "$work/berth" -n "${N:-1000}" -runs "${RUNS:-10}"
