FROM busybox:1 AS build
USER root
FROM busybox:1
USER app
USER 0:0
