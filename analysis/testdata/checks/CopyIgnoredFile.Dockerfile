FROM busybox:1
COPY secret.txt /
ADD keep.txt /
COPY --from=busybox:1 /secret.txt /
