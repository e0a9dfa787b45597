#!/usr/bin/env bash
# Shows the disk state that makes pulls slow here (issue 11 §4): on ext4 without a journal
# (this machine's /), allocating an inode skips, one by one, every free inode of the block group
# that was deleted recently (fs/ext4/ialloc.c recently_deleted(): 5 s, or 300 s while the inode
# table block is still dirty). After a few thousand files are deleted (rm -rf of a store, docker
# rmi, a test's cleanup) every file created in that group pays a walk over all of them: ~1 ms
# a file instead of ~25 µs, for minutes. berth and dockerd both pay it; how much depends on
# which block groups their directories land in. berth's layer store is marked chattr +T (see
# layer.markTopDir), which the last line measures.
#
#   bench/pull/slowcreate.sh [DIR]   (default: a temporary directory under /var/tmp)
set -euo pipefail
base=${1:-/var/tmp}
dir=$(mktemp -d "$base/berth-slowcreate.XXXXXX")
trap 'rm -rf "$dir"' EXIT
journals=$(ls /proc/fs/jbd2 2>/dev/null | tr '\n' ' ')
echo "filesystem: $(findmnt -no SOURCE,FSTYPE -T "$dir"); ext4 journals on this machine: ${journals:-none}"
python3 - "$dir" <<'PY'
import os, shutil, subprocess, sys, time
d = sys.argv[1]
def create(name, n=6000):
    p = os.path.join(d, name); os.makedirs(p)
    t = time.perf_counter()
    for i in range(n):
        os.close(os.open(f"{p}/f{i}", os.O_CREAT | os.O_WRONLY, 0o644))
    return (time.perf_counter() - t) / n * 1e6
print(f"6,000 creates in a fresh directory:              {create('a'):7.0f} µs a file")
shutil.rmtree(os.path.join(d, "a"))
time.sleep(2)  # deleted inodes count as recent from the next second on
print(f"6,000 creates 2 s after deleting 6,000 files:    {create('b'):7.0f} µs a file")
# What berth's layer store does (layer.markTopDir): the parent is marked chattr +T, so ext4's
# Orlov allocator puts each new directory in a lightly used block group.
top = os.path.join(d, "top"); os.makedirs(top)
if subprocess.run(["chattr", "+T", top], capture_output=True).returncode == 0:
    print(f"... and in a new directory under a chattr +T one: {create('top/c'):7.0f} µs a file")
PY
