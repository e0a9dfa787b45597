FROM debian:12
RUN apt-get update && apt-get install -y curl=7.88 && rm -rf /var/lib/apt/lists/*
