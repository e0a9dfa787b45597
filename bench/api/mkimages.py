#!/usr/bin/env python3
"""Writes a docker-archive (`docker save` layout) of N small distinct images, bench/img:0..N-1,
each one layer holding one file, so `docker load` and `berth load` make N images quickly.

  usage: mkimages.py N OUT.tar
"""
import hashlib, io, json, sys, tarfile

def add(tf, name, data):
    ti = tarfile.TarInfo(name)
    ti.size, ti.mtime, ti.mode = len(data), 0, 0o644
    tf.addfile(ti, io.BytesIO(data))

def main():
    n, out = int(sys.argv[1]), sys.argv[2]
    manifest = []
    with tarfile.open(out, "w") as tf:
        for i in range(n):
            lb = io.BytesIO()
            with tarfile.open(fileobj=lb, mode="w") as layer:
                add(layer, "bench-%d" % i, ("image %d\n" % i).encode())
            layer_bytes = lb.getvalue()
            diff = "sha256:" + hashlib.sha256(layer_bytes).hexdigest()
            cfg = json.dumps({
                "architecture": "amd64", "os": "linux",
                "created": "2026-01-01T00:00:%02d.%06dZ" % (i % 60, i),
                "config": {"Cmd": ["sh"], "Labels": {"bench": str(i)}},
                "rootfs": {"type": "layers", "diff_ids": [diff]},
                "history": [{"created": "2026-01-01T00:00:00Z", "created_by": "bench %d" % i}],
            }, sort_keys=True).encode()
            cid = hashlib.sha256(cfg).hexdigest()
            add(tf, cid + ".json", cfg)
            add(tf, diff[7:] + "/layer.tar", layer_bytes)
            manifest.append({"Config": cid + ".json", "RepoTags": ["bench/img:%d" % i], "Layers": [diff[7:] + "/layer.tar"]})
        add(tf, "manifest.json", json.dumps(manifest).encode())

if __name__ == "__main__":
    main()
