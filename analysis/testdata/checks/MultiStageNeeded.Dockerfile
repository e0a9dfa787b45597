FROM busybox:1 AS unused
COPY $NOPE /
CMD a
FROM busybox:1 AS used
ENTRYPOINT ["a"]
ENTRYPOINT ["b"]
FROM scratch
COPY --from=used /a /a
