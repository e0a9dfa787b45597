FROM busybox:1 AS a
FROM busybox:1 AS a
