FROM busybox:1
RUN cd /tmp && echo x > y
