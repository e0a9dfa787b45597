#!/usr/bin/env python3
"""Server-side CPU per request of API servers answering the same request, interleaved round by
round: what a listing costs `berth serve` itself (utime+stime of the server process from
/proc/PID/stat), steadier than wall time on a loaded machine, and blind to curl's own start-up.
Used to compare an old and a new berth binary serving the same root (two `berth serve` on two
sockets), or berth and dockerd.

  usage: servecpu.py ROUNDS PATH NAME:PID:SOCKET [NAME:PID:SOCKET]...
  e.g.   servecpu.py 100 'containers/json?all=1' old:1234:/tmp/old.sock new:1240:/tmp/new.sock
"""
import os, statistics, subprocess, sys, time

def ticks(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])

def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    rounds, path = int(sys.argv[1]), sys.argv[2]
    servers = [s.split(":", 2) for s in sys.argv[3:]]
    hz = os.sysconf("SC_CLK_TCK")
    cpu = {n: 0 for n, _, _ in servers}
    wall = {n: [] for n, _, _ in servers}
    for i in range(3 + rounds):  # 3 warm-up rounds fill the servers' caches
        for n, pid, sock in servers:
            a, t = ticks(pid), time.perf_counter()
            subprocess.run(["curl", "-sf", "--unix-socket", sock, "-o", "/dev/null", "http://localhost/v1.41/" + path], check=True)
            w, b = (time.perf_counter() - t) * 1000, ticks(pid)
            if i >= 3:
                cpu[n] += b - a
                wall[n].append(w)
    for n, _, _ in servers:
        print(f"{path:24s} {n:12s} server CPU {cpu[n] * 1000 / hz / rounds:6.2f} ms/request"
              f"   wall median {statistics.median(wall[n]):6.1f} ms")

if __name__ == "__main__":
    main()
