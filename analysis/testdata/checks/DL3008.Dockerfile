FROM debian:12
RUN apt-get update && apt-get install -y --no-install-recommends curl=7.88 wget && rm -rf /var/lib/apt/lists/*
