#!/usr/bin/env python3
# Times relcal validate and relcal metrics (file and --db) on the enterprise plan,
# interleaved, N runs each (BENCHMARKS.md has the set-up commands).
import subprocess, statistics, sys, time
cmds = {
  "relcal validate enterprise.json": ["target/release/relcal", "validate", "/tmp/enterprise.json"],
  "relcal metrics enterprise.json (two years, JSON)": ["target/release/relcal", "metrics", "/tmp/enterprise.json", "--from", "2026-01-01T00:00:00Z", "--to", "2028-01-01T00:00:00Z", "--format", "json"],
  "relcal metrics --db ent.db (two years, JSON, audit trail)": ["target/release/relcal", "metrics", "--db", "/tmp/ent.db", "--from", "2026-01-01T00:00:00Z", "--to", "2028-01-01T00:00:00Z", "--format", "json"],
}
runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
res = {k: [] for k in cmds}
for i in range(runs):
    for k, c in cmds.items():
        t = time.perf_counter()
        subprocess.run(c, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        res[k].append((time.perf_counter() - t) * 1000)
for k, v in res.items():
    print(f"| `{k}` | {statistics.mean(v):.1f} ms ± {statistics.stdev(v):.1f} | {min(v):.1f} ms |")
