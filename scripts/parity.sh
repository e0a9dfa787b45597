#!/usr/bin/env bash
# Parity: replays the parity suite (internal/cli/testdata/parity/*.txt: one command each, with
# what Docker 20.10 printed) against a running Docker daemon and against berth, and prints one row
# per case: identical / declared (differs only in the lines the case's "-- berth differs --" section
# lists: berth's own commands in --help, Docker flags berth lacks) / wording (same exit code and
# stdout, other error text) / differs / missing (berth lacks the command or flag), with the differing
# lines under each row that is not identical.
# Outputs are compared after normalising IDs, times, the root directory and addresses.
#
#   scripts/parity.sh            compare (needs root, runc, busybox-static, overlayfs, docker)
#   scripts/parity.sh --record   also rewrite the cases' golden sections from Docker's answers
#   BERTH_PARITY_ONLY=REGEXP     only the cases whose file name matches
#
# DOCKER (default /usr/bin/docker) must reach a daemon holding reference-busybox:1
# (../shared/tools/docker-reference.sh makes one). Objects the cases make are named parity-* and
# removed after each case on both sides. Without Docker, `go test -run TestParitySuite
# ./internal/cli/` checks berth against the recorded answers.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local CGO_ENABLED=0
DOCKER=${DOCKER:-/usr/bin/docker}
[[ $(id -u) == 0 ]] || { echo "run as root: the cases run containers"; exit 1; }
"$DOCKER" image inspect reference-busybox:1 >/dev/null 2>&1 ||
  { echo "$DOCKER cannot reach a daemon holding reference-busybox:1 (see shared/tools/docker-reference.sh)"; exit 1; }
[[ ${1:-} == --record ]] && export BERTH_PARITY_RECORD=1
BERTH_PARITY_DOCKER=$DOCKER go test -count=1 -v -timeout 30m -run '^TestParitySuite$' ./internal/cli/ |
  grep -v -e "^ok " -e "^PASS$" -e "^=== RUN" -e "^--- PASS"
