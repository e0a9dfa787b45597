FROM busybox:latest
