FROM busybox:1
# check=skip=UndefinedVar
COPY $A /
COPY $B /
