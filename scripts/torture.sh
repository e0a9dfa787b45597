#!/usr/bin/env bash
# Torture: kills `berth build` and a foreground `berth run` with SIGINT, SIGTERM, SIGHUP and
# SIGKILL at each point of their set-up (step/container directory made, runtime creating the
# container, command running, a random moment), checks after each that nothing is left on the
# host (mounts, network namespaces, veth links, iptables rules, CNI leases, cgroups, processes,
# records) and that the next build works and its image runs; and runs 20 concurrent `run -d`
# beside a `system prune -f` loop, which must all succeed. Prints a table of runs, failures and
# leaks, all of which must be 0.
#
#   scripts/torture.sh [N]    N repetitions (default 36; CI runs 4 from scripts/test.sh)
#
# Needs root, runc, busybox-static, overlayfs, the CNI plugins, nsenter, ip and iptables-save
# (scripts/deps.sh installs them). Each repetition takes a few seconds; every berth runs on a
# fresh temporary root.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local CGO_ENABLED=0
n=${1:-36}
[[ $(id -u) == 0 ]] || { echo "run as root: the torture mounts, makes namespaces and runs containers"; exit 1; }
BERTH_TORTURE=$n go test -count=1 -timeout $((10 + n))m -run '^TestTorture$' -v ./internal/cli/ |
  grep -v -e '^=== RUN' -e '^=== PAUSE' -e '^=== CONT'
