FROM --platform=$TARGETPLATFORM busybox:1
