FROM busybox:1 as build
