FROM busybox:1
run echo a
COPY a b
