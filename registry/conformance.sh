#!/bin/sh
# Runs the OCI distribution-spec conformance suite against a real `berth registry serve` process
# on a free 127.0.0.1 port and fails on any failed test. Needs only the Go module proxy.
#   registry/conformance.sh                      # pinned suite version
#   BERTH_CONFORMANCE_VERSION=latest registry/conformance.sh
#   BERTH_CONFORMANCE_RESULTS=/tmp/oci registry/conformance.sh   # keep junit.xml and report.html
set -eu
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local CGO_ENABLED=0 BERTH_CONFORMANCE=1
exec go test ./registry/ -run '^TestConformance$' -count=1 -v -timeout 20m
