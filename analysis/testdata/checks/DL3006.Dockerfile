FROM busybox AS base
FROM base
FROM scratch
FROM localhost:5000/img
