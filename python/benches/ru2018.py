"""Times `analyze` on Russia 2018 from Python against the command line with the same
options, and the conversion of each result table to a polars DataFrame.

    python python/benches/ru2018.py [--runs 3] [--calibration-reps 0] [--cli target/release/tallyscope]

Run from the repository root with ../shared/data/ru/2018.csv.zip beside it. Each run:
the CLI (`analyze FILE --out DIR --no-charts --format csv -q`, which also writes its
tables) and Python (`ts.analyze(FILE)`, then the same folder written with
`.report(DIR, formats=["csv"], charts=False)`), alternating, wall time of each.
"""

import argparse
import os
import resource
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import tallyscope as ts

p = argparse.ArgumentParser()
p.add_argument("--file", default="../shared/data/ru/2018.csv.zip")
p.add_argument("--runs", type=int, default=3)
p.add_argument("--calibration-reps", type=int, default=0, help="0 = --no-calibration; -1 = the default (auto)")
p.add_argument("--cli", default="target/release/tallyscope")
args = p.parse_args()

reps = None if args.calibration_reps < 0 else args.calibration_reps
cli_flags = [] if reps is None else (["--no-calibration"] if reps == 0 else ["--calibration-reps", str(reps)])
cli, py_analyze, py_total = [], [], []
with tempfile.TemporaryDirectory() as tmp:
    for r in range(args.runs):
        t = time.perf_counter()
        subprocess.run([args.cli, "analyze", args.file, "--out", f"{tmp}/cli", "--no-charts", "--format", "csv", "-q", *cli_flags], check=True, capture_output=True)
        cli.append(time.perf_counter() - t)
        t = time.perf_counter()
        a = ts.analyze(args.file, calibration_reps=reps)
        py_analyze.append(time.perf_counter() - t)
        a.report(f"{tmp}/py", formats=["csv"], charts=False)
        py_total.append(time.perf_counter() - t)
        print(f"run {r + 1}: CLI {cli[-1]:.2f} s; Python analyze {py_analyze[-1]:.2f} s, with the same folder written {py_total[-1]:.2f} s", flush=True)
    same = Path(f"{tmp}/cli/stations.csv").read_bytes() == Path(f"{tmp}/py/stations.csv").read_bytes()
    print(f"stations.csv identical: {same}")
print(f"median: CLI {statistics.median(cli):.2f} s, Python analyze {statistics.median(py_analyze):.2f} s, Python analyze + folder {statistics.median(py_total):.2f} s "
      f"({100 * (statistics.median(py_total) / statistics.median(cli) - 1):+.0f}% against the CLI)")
def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
for name in ["stations", "tests", "commissions", "regions", "violations"]:
    times, cpus = [], []
    for _ in range(5):
        t, c = time.perf_counter(), cpu()
        df = a._table(name)
        times.append(time.perf_counter() - t)
        cpus.append(cpu() - c)
    print(f"{name} to polars: {df.height:,} rows x {df.width} columns, wall median {1000 * statistics.median(times):.0f} ms "
          f"(min {1000 * min(times):.0f}), CPU median {1000 * statistics.median(cpus):.0f} ms")
