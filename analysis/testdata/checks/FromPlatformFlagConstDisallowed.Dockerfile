FROM --platform=linux/amd64 busybox:1 AS build
FROM --platform=linux/arm64 busybox:1 AS build-arm64
