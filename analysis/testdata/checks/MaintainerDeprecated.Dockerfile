FROM busybox:1
MAINTAINER me@example.com
