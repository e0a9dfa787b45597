FROM busybox:1
