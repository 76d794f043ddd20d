"""Analysis: the same result as the command line for the same input and options; the
tables are typed polars DataFrames; report, plot, simulate; the GIL is released."""

import json
import sys
import threading
import time

import polars as pl
import pytest

import tallyscope as ts
from conftest import RU2018, SMALL


@pytest.fixture(scope="module")
def election_csv(tmp_path_factory):
    """A simulated election with stuffing, as a CSV file and as the DataFrame simulate() returned."""
    protocols, truth = ts.simulate(3000, seed=5, fraud=["stuffing:0.05:0.6"])
    p = tmp_path_factory.mktemp("sim") / "election.csv"
    protocols.write_csv(p)
    return p, protocols, truth


def test_simulate_returns_protocols_and_truth(election_csv):
    _, protocols, truth = election_csv
    assert protocols.height == truth.height == 3000
    assert protocols.schema["registered"] == pl.Int64
    e = ts.read(protocols)
    assert e.stations == 3000 and len(e.candidates) == 5
    again, _ = ts.simulate(3000, seed=5, fraud=["stuffing:0.05:0.6"])
    assert again.equals(protocols)  # seeded
    with pytest.raises(ts.UsageError, match="--fraud"):
        ts.simulate(100, fraud=["teleport:0.1"])


def test_tables_are_typed(election_csv):
    a = ts.analyze(election_csv[1], calibration_reps=0)
    s = a.stations
    assert s.height == 3000
    assert s.schema["rank"] == pl.Int64 and s.schema["score"] == pl.Float64
    assert s.schema["flagged"] == pl.Boolean and s.schema["reasons"] == pl.List(pl.String)
    assert s.get_column("rank").to_list() == list(range(1, 3001))
    assert s.get_column("score").is_sorted(descending=True)
    assert a.tests.schema["notes"] == pl.List(pl.String) and a.tests.schema["p"] == pl.Float64
    assert a.commissions.schema["flagged"] == pl.Int64
    flagged = s.filter(pl.col("flagged"))
    assert flagged.height > 0 and flagged.get_column("reasons").list.len().min() > 0


def test_same_result_as_the_cli(election_csv, cli, tmp_path):
    path, protocols, _ = election_csv
    r = cli("analyze", path, "--out", tmp_path / "cli", "--format", "csv,parquet", "--no-charts", "-q", "--calibration-reps", "5", "--seed", "11")
    assert r.returncode == 0, r.stderr
    a = ts.analyze(protocols, calibration_reps=5, seed=11)
    # the tables against the command line's typed Parquet output, cell for cell
    for name in ("tests", "stations", "commissions", "regions"):
        want = pl.read_parquet(tmp_path / "cli" / f"{name}.parquet")
        got = getattr(a, name)
        if "reasons" in got.columns:
            got = got.with_columns(pl.col("reasons").list.join("; "))
        if "notes" in got.columns:
            got = got.with_columns(pl.col("notes").list.join(" | "))
        assert got.equals(want), name
    summary = json.loads((tmp_path / "cli" / "summary.json").read_text())
    assert a.summary["integer"] == summary["integer"]
    assert a.summary["tests"] == summary["tests"]
    assert a.summary["calibration"] == summary["calibration"]
    # and the folder written from Python is the command line's, byte for byte
    a.report(tmp_path / "py", formats=["csv"], charts=False)
    for f in ("stations.csv", "tests.csv", "commissions.csv", "regions.csv", "violations.csv"):
        assert (tmp_path / "py" / f).read_bytes() == (tmp_path / "cli" / f).read_bytes(), f


def test_report_plot_and_notebook_view(tmp_path):
    a = ts.analyze(SMALL, calibration_reps=0)
    written = a.report(tmp_path / "out")
    assert tmp_path / "out" / "report.html" in written
    assert (tmp_path / "out" / "report.html").read_text().lstrip().lower().startswith("<!doctype html")
    svg = a.plot("turnout", tmp_path / "t.svg")
    assert svg.read_text().lstrip().startswith("<svg")
    png = a.plot("fingerprint", tmp_path / "f.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ts.UsageError, match="unknown chart kind \"pie\""):
        a.plot("pie", tmp_path / "p.svg")
    with pytest.raises(ts.UsageError, match=".png or .svg"):
        a.plot("turnout", tmp_path / "t.pdf")
    h = a._repr_html_()
    assert "integer-percentage excess" in h and "24" in h
    assert "protocol checks" in str(a)
    assert set(ts.CHARTS) >= {"turnout", "fingerprint", "last-digits"}


def test_bad_options_raise_the_cli_messages():
    with pytest.raises(ts.UsageError, match='--leader "Nobody": no such candidate'):
        ts.analyze(SMALL, leader="Nobody", calibration_reps=0)
    with pytest.raises(ts.UsageError, match="coarse-candidates"):
        ts.analyze(SMALL, coarse_candidates="some", calibration_reps=0)


def test_gil_is_released_during_analysis():
    protocols, _ = ts.simulate(20000, seed=2)
    e = ts.read(protocols)
    ticks = 0
    done = threading.Event()

    def count():
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            time.sleep(0.001)

    t = threading.Thread(target=count)
    t.start()
    start = time.perf_counter()
    ts.analyze(e, calibration_reps=0)
    elapsed = time.perf_counter() - start
    done.set()
    t.join()
    # With the GIL held for the whole call the other thread could not run at all.
    assert elapsed > 0.05 and ticks >= 10, (elapsed, ticks)


def test_russia_2018_integer_excess_as_the_cli(cli, tmp_path):
    if not RU2018.exists():
        msg = f"SKIPPED: {RU2018} is absent (the Russian CEC files beside the repository)"
        print(msg, file=sys.stderr)
        pytest.skip(msg)
    r = cli("analyze", RU2018, "--out", tmp_path / "cli", "--no-calibration", "--no-charts", "--format", "csv", "-q")
    assert r.returncode == 0, r.stderr
    want = json.loads((tmp_path / "cli" / "summary.json").read_text())["integer"]
    a = ts.analyze(RU2018, calibration_reps=0)
    got = a.summary["integer"]
    assert got["either"] == want["either"] and got["turnout"] == want["turnout"] and got["leader"] == want["leader"]
    # Kobak, Shpilkin & Pshenichnikov (2018): 1,708.8 excess, sd 116.5
    assert round(got["either"]["excess"]) == 1709 and round(got["either"]["sd"]) == 117
    assert a.stations.height == 97_699


def test_compare_as_the_cli(tmp_path, cli):
    protocols, truth, observed = ts.simulate(2000, seed=3, fraud=["transfer:0.05:0.3"], observers=0.2, observer_kind="copy")
    assert observed.height == 400
    off, obs = tmp_path / "election.csv", tmp_path / "election.observed.csv"
    protocols.write_csv(off)
    observed.write_csv(obs)
    c = ts.compare(off, obs)
    r = cli("compare", off, obs, "--out", tmp_path / "cmp", "--no-chart", "-q")
    assert r.returncode == c.exit_code == 1
    assert c.summary == json.loads((tmp_path / "cmp" / "summary.json").read_text())
    assert c.discrepancies.equals(pl.read_csv(tmp_path / "cmp" / "discrepancies.csv", infer_schema_length=None))
    assert c.stations.height == 400
    # the stations whose published figures differ are falsified ones (the simulator knows)
    differing = set(c.discrepancies.get_column("station").cast(pl.String))
    seen = set(observed.get_column("station").cast(pl.String))
    falsified = set(truth.filter(pl.col("fraud").is_not_null()).get_column("station").cast(pl.String))
    assert len(differing) > 10 and differing == falsified & seen
    with pytest.raises(TypeError, match="write_csv"):
        ts.compare(protocols, obs)


def test_tables_come_over_as_arrow(election_csv):
    """The tables cross into polars through the Arrow PyCapsule interface: the same
    Rust table exports any number of times, a DataFrame outlives its Analysis, and an
    export nobody imports is released with its capsule."""
    a = ts.analyze(election_csv[1], calibration_reps=0)
    t = a._a.table("stations")
    assert len(t) == t.num_rows == 3000 and t.column_names[:2] == ["rank", "station"]
    assert "3000 rows" in repr(t)
    first, second = pl.DataFrame(t), pl.DataFrame(t)
    assert first.equals(second) and first.equals(a.stations)
    capsule = t.__arrow_c_stream__()
    assert type(capsule).__name__ == "PyCapsule"
    del capsule  # never imported: released here
    notes = a._a.table("tests")
    del a, t
    df = pl.DataFrame(notes)
    assert df.schema["notes"] == pl.List(pl.String) and df.height > 0
    assert first.get_column("reasons").list.len().sum() > 0
    with pytest.raises(ts.UsageError, match="no table"):
        ts.analyze(election_csv[1], calibration_reps=0)._table("nothing")
