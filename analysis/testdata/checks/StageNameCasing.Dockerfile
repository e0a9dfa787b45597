FROM busybox:1 AS Build
RUN ["true"]
