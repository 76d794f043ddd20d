"""Times `analyze` on Russia 2018 from Python against the command line with the same
options, and the conversion of each result table to a polars DataFrame.

    python python/benches/ru2018.py [--runs 5] [--calibration-reps 0] [--cli target/release/tallyscope]

Run from the repository root with ../shared/data/ru/2018.csv.zip beside it (issue 22's
speed lines: Python within 20% of the CLI; the stations table to polars in ≤ 0.1 s).

Each run, alternating: the CLI (`analyze FILE --out DIR --no-charts --format csv -q`,
which reads, analyses and writes its tables; timed as a whole process, start-up
included) and Python (`ts.analyze(FILE)`, which reads and analyses, then the same folder
written with `.report(DIR, formats=["csv"], charts=False)`; timed in this process, after
`import tallyscope`), and the same Python as a whole process (`python -c "import
tallyscope as ts; …"`, interpreter start-up and imports included, like the CLI's).
Wall and CPU time of each (the CLI's CPU from the rusage of its
process), medians, and the load average before and after: the machine is shared, so
read the numbers beside the load. Then each table's conversion to a DataFrame
(`Analysis._table`, what `a.stations` etc. do on first use: columns built in Rust,
handed to polars as Arrow through the PyCapsule interface), `--conversions` times.
"""

import argparse
import os
import resource
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import sys

import tallyscope as ts

p = argparse.ArgumentParser()
p.add_argument("--file", default="../shared/data/ru/2018.csv.zip")
p.add_argument("--runs", type=int, default=5)
p.add_argument("--conversions", type=int, default=7, help="conversions of each table to polars")
p.add_argument("--calibration-reps", type=int, default=0, help="0 = --no-calibration; -1 = the default (auto)")
p.add_argument("--cli", default="target/release/tallyscope")
args = p.parse_args()


def cpu(who: int = resource.RUSAGE_SELF) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def load() -> str:
    return "load average " + " / ".join(f"{x:.1f}" for x in os.getloadavg()) + f" (1 / 5 / 15 min) on {os.cpu_count()} cores"


def med(xs: list[float]) -> float:
    return statistics.median(xs)


reps = None if args.calibration_reps < 0 else args.calibration_reps
cli_flags = [] if reps is None else (["--no-calibration"] if reps == 0 else ["--calibration-reps", str(reps)])
py_kw = "" if reps is None else f", calibration_reps={reps}"
print(f"CLI:    {args.cli} analyze {args.file} --out DIR --no-charts --format csv -q {' '.join(cli_flags)}".rstrip())
print(f"Python: a = ts.analyze({args.file!r}{py_kw}); a.report(DIR, formats=['csv'], charts=False)")
print(f"before: {load()}", flush=True)
py_code = f"import tallyscope as ts; ts.analyze({args.file!r}{py_kw}).report(__import__('sys').argv[1], formats=['csv'], charts=False)"
cli, cli_cpu, py_analyze, py_total, py_cpu, py_proc, py_proc_cpu = [], [], [], [], [], [], []
with tempfile.TemporaryDirectory() as tmp:
    for r in range(args.runs):
        t, c = time.perf_counter(), cpu(resource.RUSAGE_CHILDREN)
        subprocess.run([args.cli, "analyze", args.file, "--out", f"{tmp}/cli", "--no-charts", "--format", "csv", "-q", *cli_flags], check=True, capture_output=True)
        cli.append(time.perf_counter() - t)
        cli_cpu.append(cpu(resource.RUSAGE_CHILDREN) - c)
        t, c = time.perf_counter(), cpu()
        a = ts.analyze(args.file, calibration_reps=reps)
        py_analyze.append(time.perf_counter() - t)
        a.report(f"{tmp}/py", formats=["csv"], charts=False)
        py_total.append(time.perf_counter() - t)
        py_cpu.append(cpu() - c)
        t, c = time.perf_counter(), cpu(resource.RUSAGE_CHILDREN)
        subprocess.run([sys.executable, "-c", py_code, f"{tmp}/proc"], check=True, capture_output=True)
        py_proc.append(time.perf_counter() - t)
        py_proc_cpu.append(cpu(resource.RUSAGE_CHILDREN) - c)
        print(
            f"run {r + 1}: CLI {cli[-1]:.2f} s ({cli_cpu[-1]:.2f} CPU-s); Python analyze {py_analyze[-1]:.2f} s, "
            f"with the same folder written {py_total[-1]:.2f} s ({py_cpu[-1]:.2f} CPU-s); "
            f"as a whole process {py_proc[-1]:.2f} s ({py_proc_cpu[-1]:.2f} CPU-s)",
            flush=True,
        )
    same = Path(f"{tmp}/cli/stations.csv").read_bytes() == Path(f"{tmp}/py/stations.csv").read_bytes()
    print(f"stations.csv identical: {same}")
print(
    f"median of {args.runs}: CLI {med(cli):.2f} s wall, {med(cli_cpu):.2f} CPU-s; Python analyze {med(py_analyze):.2f} s, "
    f"analyze + folder {med(py_total):.2f} s wall, {med(py_cpu):.2f} CPU-s: "
    f"Python / CLI = {med(py_total) / med(cli):.2f} wall, {med(py_cpu) / med(cli_cpu):.2f} CPU; "
    f"Python as a whole process {med(py_proc):.2f} s wall, {med(py_proc_cpu):.2f} CPU-s: "
    f"/ CLI = {med(py_proc) / med(cli):.2f} wall, {med(py_proc_cpu) / med(cli_cpu):.2f} CPU"
)
print(f"after:  {load()}", flush=True)

for name in ["stations", "tests", "commissions", "regions", "violations"]:
    times, cpus = [], []
    for _ in range(args.conversions):
        t, c = time.perf_counter(), cpu()
        df = a._table(name)
        times.append(time.perf_counter() - t)
        cpus.append(cpu() - c)
    print(
        f"{name} to polars: {df.height:,} rows x {df.width} columns, wall median {1000 * med(times):.0f} ms "
        f"(min {1000 * min(times):.0f}, max {1000 * max(times):.0f}), CPU median {1000 * med(cpus):.0f} ms (of {args.conversions})",
        flush=True,
    )
print(f"end:    {load()}")
