#!/bin/bash
# Benchmark: what Docker's default seccomp profile costs at container start, and where.
# Bundles made from berth's own config.json for `run --network none bench:1 true`, timed
# interleaved (bench/lib/interleave.py, wall and CPU time):
#   runc / crun with the profile (each compiles it with libseccomp at every start),
#   runc / crun without linux.seccomp,
#   crun with the same filter precompiled (run.oci.seccomp_bpf_data: the BPF runc compiled,
#     read back from a confined process by bench/run/seccompbpf),
#   berth run --rm --network none, with and without seccomp=unconfined, with runc and with crun
#     (berth hands crun the filter crun compiled once before: ROOT/seccomp, runtime.SeccompCache;
#     crun is berth's default runtime where it is installed).
# Issue 13's target is seccomp within 2 ms of unconfined; this shows what each runtime path costs.
# Needs root, runc, crun, python3, busybox-static.
#   usage: bench/run/seccomp.sh [RUNS]
set -euo pipefail
RUNS=${1:-30}
HERE=$(cd "$(dirname "$0")/../.." && pwd)
command -v crun >/dev/null || { echo "seccomp.sh needs crun (Debian: apt-get install crun)" >&2; exit 1; }
W=$(mktemp -d /tmp/berth-bench.XXXXXX)
export BERTH_ROOT=$W/root BERTH_CONFIG=$W/none.json
cleanup() {
  runc --root "$W/state" delete -f bench-probe >/dev/null 2>&1 || true
  rm -rf "$W"
}
trap cleanup EXIT
(cd "$HERE" && GOTOOLCHAIN=local CGO_ENABLED=0 go build -o "$W/berth" ./cmd/berth &&
  GOTOOLCHAIN=local CGO_ENABLED=0 go build -o "$W/seccompbpf" ./bench/run/seccompbpf)
r=$W/rootfs-src; mkdir -p "$r"/{bin,etc,tmp,root}; cp /bin/busybox "$r/bin/busybox"
for a in $(/bin/busybox --list); do [[ $a == busybox ]] || ln -sf busybox "$r/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$r/etc/passwd"; printf 'root:x:0:\n' >"$r/etc/group"
tar --sort=name --mtime=@0 --owner=0 --group=0 -C "$r" -cf "$W/busybox.tar" .
"$W/berth" import "$W/busybox.tar" bench:1 >/dev/null
id=$("$W/berth" create --network none bench:1 true)
"$W/berth" start -a "$id" >/dev/null
mkdir -p "$W/rootfs" "$W/state"
tar -C "$W/rootfs" -xf "$W/busybox.tar"
mk() { # NAME [python statements on spec]
  mkdir -p "$W/$1"
  python3 - "$BERTH_ROOT/containers/$id/config.json" "$W" "$1" "${2:-}" <<'PY'
import json, sys
src, w, name, code = sys.argv[1:5]
spec = json.load(open(src))
spec["root"]["path"] = w + "/rootfs"
spec["mounts"] = [m for m in spec["mounts"] if not m["destination"].startswith("/etc/")]
for ns in spec["linux"]["namespaces"]:
    ns.pop("path", None)
spec["linux"]["cgroupsPath"] = "/berth-bench/" + name
exec(code)
json.dump(spec, open(f"{w}/{name}/config.json", "w"))
PY
}
mk with
mk without 'spec["linux"].pop("seccomp", None)'
mk probe 'spec["process"]["args"] = ["sleep", "60"]'
# The filter runc compiled, read back from a process confined by it.
runc --root "$W/state" run -d --bundle "$W/probe" bench-probe </dev/null >/dev/null 2>&1
pid=$(runc --root "$W/state" state bench-probe | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
"$W/seccompbpf" "$pid" >"$W/filter.b64"
runc --root "$W/state" delete -f bench-probe >/dev/null
mk bpf "spec.setdefault('annotations', {})['run.oci.seccomp_bpf_data'] = open('$W/filter.b64').read()"
mk bpfcheck "spec.setdefault('annotations', {})['run.oci.seccomp_bpf_data'] = open('$W/filter.b64').read(); spec['process']['args'] = ['sh', '-c', 'grep Seccomp: /proc/self/status; unshare -U true 2>/dev/null && echo unshare allowed || echo unshare denied']"
echo "precompiled filter: $(base64 -d "$W/filter.b64" | wc -c) bytes; crun with it: $(crun --root "$W/state" run --bundle "$W/bpfcheck" bench-check | tr '\t\n' '  ')"
INTERLEAVE_JSON=$W/wall.json INTERLEAVE_CPU_JSON=$W/cpu.json python3 "$HERE/bench/lib/interleave.py" "$RUNS" \
  "runc, no filter" "runc --root $W/state run --bundle $W/without b-runc-without" \
  "runc, Docker's profile" "runc --root $W/state run --bundle $W/with b-runc-with" \
  "crun, no filter" "crun --root $W/state run --bundle $W/without b-crun-without" \
  "crun, Docker's profile" "crun --root $W/state run --bundle $W/with b-crun-with" \
  "crun, precompiled filter" "crun --root $W/state run --bundle $W/bpf b-crun-bpf" \
  "berth runc, seccomp=unconfined" "$W/berth run --rm --runtime runc --network none --security-opt seccomp=unconfined bench:1 true" \
  "berth runc, default profile" "$W/berth run --rm --runtime runc --network none bench:1 true" \
  "berth crun, seccomp=unconfined" "$W/berth run --rm --runtime crun --network none --security-opt seccomp=unconfined bench:1 true" \
  "berth crun, default profile" "$W/berth run --rm --runtime crun --network none bench:1 true"
python3 - "$W/cpu.json" "$W/wall.json" <<'PY'
import json, statistics, sys
c = {k: statistics.mean(v) for k, v in json.load(open(sys.argv[1])).items()}
print("CPU time per start (user+sys, ms):")
for k, v in c.items():
    print(f"  {k:28s} {v:6.1f}")
print(f"runc: the profile costs {c['runc, Docker' + chr(39) + 's profile'] - c['runc, no filter']:+.1f} ms CPU")
print(f"crun: the profile costs {c['crun, Docker' + chr(39) + 's profile'] - c['crun, no filter']:+.1f} ms CPU, precompiled {c['crun, precompiled filter'] - c['crun, no filter']:+.1f} ms")
print(f"berth --runtime runc: default profile {c['berth runc, default profile'] - c['berth runc, seccomp=unconfined']:+.1f} ms CPU over seccomp=unconfined")
print(f"berth --runtime crun (the default where installed; cached BPF): default profile {c['berth crun, default profile'] - c['berth crun, seccomp=unconfined']:+.1f} ms CPU over seccomp=unconfined (target <= 2 ms)")
w = {k: statistics.mean(v) for k, v in json.load(open(sys.argv[2])).items()}
print(f"wall: berth --runtime runc {w['berth runc, default profile'] - w['berth runc, seccomp=unconfined']:+.1f} ms, berth --runtime crun {w['berth crun, default profile'] - w['berth crun, seccomp=unconfined']:+.1f} ms")
PY
