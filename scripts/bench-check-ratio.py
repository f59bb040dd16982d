#!/usr/bin/env python3
"""relcal check against relcal validate and Python json.load on the same plan,
run interleaved (one of each, N times) so the machine's drift hits all three
alike. Usage: scripts/bench-check-ratio.py [N] (after building the release CLI
and writing /tmp/enterprise.json; see BENCHMARKS.md)."""
import subprocess, time, statistics, sys
V=["target/release/relcal","validate","/tmp/enterprise.json"]
C=["target/release/relcal","check","/tmp/enterprise.json","--now","2027-06-01T00:00:00Z"]
P=["python3","-c","import json,sys; json.load(open(sys.argv[1]))","/tmp/enterprise.json"]
def t(cmd):
    s=time.perf_counter(); subprocess.run(cmd,stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL); return time.perf_counter()-s
for _ in range(3): t(V);t(C);t(P)
n=int(sys.argv[1]) if len(sys.argv)>1 else 40
v=[];c=[];p=[]
for i in range(n):
    p.append(t(P)); v.append(t(V)); c.append(t(C))
r=[b/a for a,b in zip(v,c)]
f=lambda xs:f"median {statistics.median(xs)*1000:.1f} ms, mean {statistics.mean(xs)*1000:.1f} ± {statistics.stdev(xs)*1000:.1f} ms, min {min(xs)*1000:.1f} ms"
print("python json.load:",f(p)); print("validate:",f(v)); print("check:",f(c))
print(f"check/validate per adjacent pair: median {statistics.median(r):.2f}, mean {statistics.mean(r):.2f} ± {statistics.stdev(r):.2f}; ratio of medians {statistics.median(c)/statistics.median(v):.2f}; of mins {min(c)/min(v):.2f}")
print(f"python/validate: ratio of medians {statistics.median(p)/statistics.median(v):.2f}")
