FROM busybox:1
EXPOSE 80/TCP 53/udp
