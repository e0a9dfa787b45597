# check=experimental=InvalidDefinitionDescription

# bar this is the bar
ARG foo=bar
# BasE this is the BasE image
FROM busybox:1 AS base
