FROM busybox:1
RUN echo a && \

  echo b
