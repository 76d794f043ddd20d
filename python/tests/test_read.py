"""Reading: a DataFrame gives what the same table as a CSV file gives; bad data raises
with the command line's message (file, line, column, value) and the DataFrame's row."""

import polars as pl
import pytest

import tallyscope as ts
from conftest import SMALL


def test_path_reads_the_fixture():
    e = ts.read(SMALL)
    assert e.stations == 24
    assert e.candidates == ["Alice Archer", "Boris Belov", "Clara Costa"]
    info = e.inspect()
    assert info["stations"] == 24
    v = e.check()
    assert v.height == 2  # the fixture's two deliberate violations
    assert v.schema["line"] == pl.Int64 and v.schema["gap"] == pl.Int64
    assert sorted(v.get_column("station").to_list()) == ["105", "110"]


def test_polars_and_pandas_frames_read_as_the_csv_file():
    a_file = ts.analyze(SMALL, calibration_reps=0)
    df = pl.read_csv(SMALL)
    a_pl = ts.analyze(df, calibration_reps=0)
    pd = pytest.importorskip("pandas")
    a_pd = ts.analyze(pd.read_csv(SMALL), calibration_reps=0)
    for a in (a_pl, a_pd):
        assert a.election.source == "<DataFrame>"
        for name in ("tests", "stations", "commissions", "regions", "violations"):
            assert getattr(a, name).equals(getattr(a_file, name)), name
        assert a.summary["integer"] == a_file.summary["integer"]
        assert a.summary["check"] == a_file.summary["check"]


def test_keywords_name_columns_like_a_mapping_file():
    df = pl.read_csv(SMALL).rename({"registered": "Voters on the list", "Alice Archer": "A", "Boris Belov": "B", "Clara Costa": "C"})
    e = ts.read(df, registered="Voters on the list", candidates=["A", "B", "C"])
    assert e.candidates == ["A", "B", "C"]
    roles = {c["name"]: c["used_as"] for c in e.inspect()["columns"]}
    assert roles["Voters on the list"] == "registered"
    base = ts.analyze(SMALL, calibration_reps=0)
    renamed = ts.analyze(e, calibration_reps=0)
    # the same numbers under other names
    assert renamed.tests.get_column("statistic").equals(base.tests.get_column("statistic"))


def test_long_frame():
    wide = pl.read_csv(SMALL)
    long = wide.unpivot(index=[c for c in wide.columns if c not in ("Alice Archer", "Boris Belov", "Clara Costa")], on=["Alice Archer", "Boris Belov", "Clara Costa"], variable_name="candidate", value_name="votes")
    e = ts.read(long.select("region", "commission", "station", "registered", "candidate", "votes"), long=dict(station=["region", "commission", "station"], candidate="candidate", votes="votes"))
    assert e.stations == 24
    assert sorted(e.candidates) == ["Alice Archer", "Boris Belov", "Clara Costa"]


def test_negative_count_in_a_frame_names_column_value_and_row():
    df = pl.read_csv(SMALL).with_columns(pl.when(pl.col("station") == 103).then(-5).otherwise(pl.col("registered")).alias("registered"))
    with pytest.raises(ts.InputError) as err:
        ts.read(df)
    e = err.value
    assert str(e) == '<DataFrame>:4: column "registered": value "-5": negative count; expected a whole number ≥ 0 (row 2 of the DataFrame, counting from 0)'
    assert (e.file, e.line, e.row, e.column, e.value) == ("<DataFrame>", 4, 2, "registered", "-5")
    assert isinstance(e, ValueError) and isinstance(e, ts.TallyscopeError)


def test_missing_column_named_by_a_keyword():
    with pytest.raises(ts.InputError, match=r'--registered "Nope": no such column in the header') as err:
        ts.read(pl.read_csv(SMALL), registered="Nope")
    assert "(line 1 is the DataFrame's column names)" in str(err.value)


def test_frame_without_counts_is_refused():
    df = pl.DataFrame({"station": ["1", "2"], "region": ["a", "b"]})
    with pytest.raises(ts.TallyscopeError, match="<DataFrame>"):
        ts.read(df)


def test_file_errors_are_the_command_lines(tmp_path, cli):
    bad = tmp_path / "bad.csv"
    lines = SMALL.read_text().splitlines()
    lines[2] = lines[2].replace(",685,", ",6x5,")
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(ts.InputError) as err:
        ts.read(bad)
    r = cli("check", bad)
    assert r.returncode == 2
    assert r.stderr.strip() == f"tallyscope: error: {err.value}"
    assert err.value.row is None and err.value.line == 3


def test_unknown_keyword_and_missing_file():
    with pytest.raises(TypeError, match="registred"):
        ts.read(SMALL, registred="N")
    with pytest.raises(TypeError, match="statoin"):
        ts.read(pl.read_csv(SMALL), long=dict(statoin=["station"], candidate="c", votes="v"))
    with pytest.raises(FileNotFoundError, match="no-such-file.csv"):
        ts.read("no-such-file.csv")
    with pytest.raises(TypeError, match="for files"):
        ts.read(pl.read_csv(SMALL), encoding="cp1251")
