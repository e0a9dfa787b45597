FROM busybox:1
ENTRYPOINT /bin/app
