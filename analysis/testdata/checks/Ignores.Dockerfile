# check=skip=DL3003
FROM debian:12
# hadolint ignore=DL3008,DL3015
RUN apt-get install -y curl
RUN cd /x
