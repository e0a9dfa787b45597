FROM busybox:1
ENV A b
LABEL x y
