FROM busybox:1
WORKDIR app
WORKDIR /abs
WORKDIR rel
