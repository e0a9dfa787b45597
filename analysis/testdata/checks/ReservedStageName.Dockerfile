FROM busybox:1 AS scratch
