FROM busybox:1
ADD app.conf /etc/
ADD rootfs.tar.gz /
ADD https://example.com/x /x
