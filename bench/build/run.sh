#!/bin/bash
# Build benchmarks (issue 5): cold build and no-op rebuild of
#   (a) the issue's 7-line Dockerfile (FROM, RUN, COPY, ENV, WORKDIR, EXPOSE, CMD)
#   (b) a 3-stage Dockerfile with 25 instructions and a 5,000-file, 100 MB context.
# With the reference Docker up (/work/shared/tools/docker-reference.sh) the same builds run through
# Docker's classic builder and BuildKit for comparison.
#   usage: [RUNS=3] bench/build/run.sh [berth binary]      (each figure: the median of RUNS)
set -eu
cd "$(dirname "$0")/../.."
BERTH=${1:-}
if [[ -z $BERTH ]]; then
  BERTH=$(mktemp -d)/berth
  GOTOOLCHAIN=local CGO_ENABLED=0 go build -o "$BERTH" ./cmd/berth
fi
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
export BERTH_ROOT=$W/root
BASE=/var/tmp/docker-reference/busybox.tar
if [[ ! -f $BASE ]]; then
  r=$W/rootfs; mkdir -p "$r"/{bin,etc,tmp,root}; cp "$(command -v busybox)" "$r/bin/busybox"; ln -s busybox "$r/bin/sh"
  printf 'root:x:0:0:root:/root:/bin/sh\n' >"$r/etc/passwd"; printf 'root:x:0:\n' >"$r/etc/group"
  tar --sort=name --mtime=@0 --owner=0 --group=0 -C "$r" -cf "$W/busybox.tar" . ; BASE=$W/busybox.tar
fi
"$BERTH" import "$BASE" reference-busybox:1 >/dev/null

mkdir -p "$W/a"
echo 'hello' >"$W/a/app.txt"
cat >"$W/a/Dockerfile" <<'DF'
FROM reference-busybox:1
RUN echo built > /built.txt
COPY app.txt /app/
ENV APP=1
WORKDIR /app
EXPOSE 8080
CMD ["cat", "/app/app.txt"]
DF

mkdir -p "$W/b/src"
for d in $(seq 0 49); do
  mkdir -p "$W/b/src/d$d"
  for f in $(seq 0 99); do head -c 20480 /dev/urandom >"$W/b/src/d$d/f$f"; done
done
cat >"$W/b/Dockerfile" <<'DF'
ARG BASE=reference-busybox:1
FROM ${BASE} AS deps
ENV STAGE=deps
WORKDIR /deps
COPY src/d0 /deps/d0
COPY src/d1 /deps/d1
LABEL stage=deps
FROM ${BASE} AS build
ARG VERSION=1
ENV VERSION=$VERSION
WORKDIR /build
COPY --from=deps /deps /build/deps
COPY src /build/src
LABEL stage=build
FROM ${BASE}
ARG VERSION=1
LABEL version=$VERSION
ENV APP=/app
WORKDIR /app
COPY --from=build /build/src /app/src
COPY --from=build /build/deps /app/deps
EXPOSE 8080
USER nobody
ENTRYPOINT ["/bin/sh"]
CMD ["-c", "ls"]
DF

# The median of RUNS timings (default 3): the machine is shared and a single run can land on a
# noisy spell.
RUNS=${RUNS:-3}
ms() {
  local s e i t=()
  for ((i = 0; i < RUNS; i++)); do
    s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N); t+=($(((e - s) / 1000000)))
  done
  printf '%s\n' "${t[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p"
}
for c in a b; do
  echo "($c) berth cold:   $(ms "$BERTH" build -q --no-cache -t bench-$c "$W/$c") ms"
  echo "($c) berth no-op:  $(ms "$BERTH" build -q -t bench-$c "$W/$c") ms"
  if /usr/bin/docker info >/dev/null 2>&1; then
    for bk in 0 1; do
      echo "($c) docker BUILDKIT=$bk cold:  $(ms env DOCKER_BUILDKIT=$bk /usr/bin/docker build -q --no-cache -t bench-$c "$W/$c") ms"
      echo "($c) docker BUILDKIT=$bk no-op: $(ms env DOCKER_BUILDKIT=$bk /usr/bin/docker build -q -t bench-$c "$W/$c") ms"
    done
  fi
done
