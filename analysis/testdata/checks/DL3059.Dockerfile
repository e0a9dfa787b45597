FROM busybox:1
RUN ["true"]
# a comment between
RUN ["false"]
RUN --mount=type=cache,target=/c ["x"]
