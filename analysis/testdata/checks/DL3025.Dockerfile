FROM busybox:1
CMD ["sh"]
ENTRYPOINT exec app
