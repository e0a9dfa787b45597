#!/usr/bin/env python3
"""Times commands round-robin: round i runs every command once, in turn, before round i+1.

On a shared, noisy machine a slow spell then hits every command alike, where hyperfine's
one-command-after-another runs let it land on whichever command ran during it. Prints each
command's mean, median and min, and for every command after the first its difference from the
first, taken round by round (mean and 95% confidence interval): the peer comparison the bench
targets ask for ("berth = runc + N ms").

  usage: interleave.py RUNS NAME CMD [NAME CMD]...   (CMD is run by /bin/sh -c)
  env:   INTERLEAVE_JSON=path  also writes {name: [ms, ...]} there
         INTERLEAVE_CPU_JSON=path  also writes each run's CPU time (user+sys of the command and
                                   the children it waited for) as {name: [ms, ...]}: steadier
                                   than wall time on a loaded machine
"""
import json, math, os, resource, statistics, subprocess, sys, time

def main():
    runs, pairs = int(sys.argv[1]), sys.argv[2:]
    if len(pairs) < 2 or len(pairs) % 2:
        sys.exit(__doc__)
    names, cmds = pairs[0::2], pairs[1::2]
    times = {n: [] for n in names}
    cpu = {n: [] for n in names}
    warmup = 3
    for i in range(warmup + runs):
        for n, c in zip(names, cmds):
            ru = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            r = subprocess.run(["/bin/sh", "-c", "exec " + c], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            ms = (time.perf_counter() - start) * 1000
            ru2 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu_ms = (ru2.ru_utime - ru.ru_utime + ru2.ru_stime - ru.ru_stime) * 1000
            if r.returncode != 0:
                sys.exit(f"{n}: exit {r.returncode}: {r.stderr.decode(errors='replace').strip()}")
            if i >= warmup:
                times[n].append(ms)
                cpu[n].append(cpu_ms)
    base = names[0]
    for n in names:
        v = times[n]
        line = f"{n:34s} mean {statistics.mean(v):7.1f}  median {statistics.median(v):7.1f}  min {min(v):7.1f} ms"
        if n != base:
            d = [a - b for a, b in zip(v, times[base])]
            ci = 1.96 * statistics.stdev(d) / math.sqrt(len(d))
            line += f"   {base} {statistics.mean(d):+.1f} ms (±{ci:.1f})"
        print(line)
    if os.environ.get("INTERLEAVE_JSON"):
        with open(os.environ["INTERLEAVE_JSON"], "w") as f:
            json.dump(times, f)
    if os.environ.get("INTERLEAVE_CPU_JSON"):
        with open(os.environ["INTERLEAVE_CPU_JSON"], "w") as f:
            json.dump(cpu, f)

if __name__ == "__main__":
    main()
