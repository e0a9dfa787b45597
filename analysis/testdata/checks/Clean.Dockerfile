# syntax=docker/dockerfile:1
ARG BASE=busybox:1.36
FROM ${BASE} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN ["true"]
COPY . .
RUN set -eo pipefail; echo a | tee b

FROM busybox:1.36
COPY --from=build /src/b /b
EXPOSE 8080/tcp
USER 1000
ENTRYPOINT ["/b"]
