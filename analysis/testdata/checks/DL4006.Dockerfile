FROM busybox:1
RUN wget -O - http://example.com/x | sh
SHELL ["/bin/ash", "-eo", "pipefail", "-c"]
RUN wget -O - http://example.com/x | sh
