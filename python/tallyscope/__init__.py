"""tallyscope: election forensics on polling-station protocols, in Python.

The command line's library, with every table a polars DataFrame::

    import tallyscope as ts
    import polars as pl

    a = ts.analyze("2018.csv.zip")                 # or a polars / pandas DataFrame
    a.summary["integer"]["either"]["excess"]        # integer-percentage excess
    a.stations.filter(pl.col("flagged"))            # ranked stations, with their reasons
    a.plot("fingerprint", "fingerprint.svg")
    a.report("ru2018")                              # the folder `tallyscope analyze --out` writes

Reading and analysis run in Rust with the GIL released; results are the command line's
for the same input and options (the keywords are its flags). Errors are
:class:`InputError` (a problem in the data, naming file, line, column and value, and
the row of a DataFrame) or :class:`UsageError`, both :class:`TallyscopeError`
(a ``ValueError``); a missing file is a ``FileNotFoundError``.
"""

from __future__ import annotations

import html
import io
import json
import os
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Literal, Sequence, Union

import polars as pl

from . import _tallyscope as _native
from ._tallyscope import InputError, TallyscopeError, UsageError, __version__

if TYPE_CHECKING:  # pandas is optional
    import pandas

__all__ = [
    "read",
    "analyze",
    "simulate",
    "compare",
    "Election",
    "Comparison",
    "Analysis",
    "TallyscopeError",
    "InputError",
    "UsageError",
    "CHARTS",
    "__version__",
]

#: A path to anything the command line reads (CSV plain, zipped or gzipped,
#: .xlsx/.xls/.ods), or a polars / pandas DataFrame of protocols, one row per station.
Source = Union[str, "os.PathLike[str]", pl.DataFrame, pl.LazyFrame, "pandas.DataFrame"]

#: One column name, or several (summed, e.g. ballots issued early and on the day).
Columns = Union[str, Sequence[str]]

#: The chart kinds of :meth:`Analysis.plot` (``tallyscope plot --help``).
CHARTS: tuple[str, ...] = tuple(_native.CHARTS)

_FRAME_NAME = "<DataFrame>"


def _is_pandas(x: Any) -> bool:
    return type(x).__module__.split(".")[0] == "pandas" and hasattr(x, "to_csv")


def _frame_csv(df: Any) -> bytes:
    """A DataFrame as CSV text: the form every reader of the library shares, so a
    DataFrame gives what the same table saved as CSV gives (nulls become empty cells,
    which the reader takes as unpublished lines)."""
    if isinstance(df, pl.LazyFrame):
        df = df.collect()
    if isinstance(df, pl.DataFrame):
        buf = io.BytesIO()
        df.write_csv(buf)
        return buf.getvalue()
    if _is_pandas(df):
        return df.to_csv(index=False).encode("utf-8")
    raise TypeError(f"expected a path or a polars / pandas DataFrame, got {type(df).__name__}")


def _names(x: Columns | None) -> list[str] | None:
    if x is None:
        return None
    return [x] if isinstance(x, str) else [str(c) for c in x]


class Election:
    """Protocols read by :func:`read`: one row per station, with what was recognised.

    Attributes: ``stations`` (number read), ``candidates`` (names, in file order),
    ``source`` (the name in messages: the path, or ``<DataFrame>``)."""

    def __init__(self, native: _native.Election) -> None:
        self._e = native

    @property
    def stations(self) -> int:
        """Stations read (published protocols)."""
        return self._e.stations

    @property
    def candidates(self) -> list[str]:
        """Candidate, party or option names, in file order."""
        return self._e.candidates

    @property
    def source(self) -> str:
        """The path read, or ``<DataFrame>``."""
        return self._e.source

    def inspect(self) -> dict[str, Any]:
        """What was recognised (``tallyscope inspect --json``): layout, row accounting,
        each column's role and why, hierarchy, candidates, leader."""
        return json.loads(self._e.inspect_json())

    def check(self) -> pl.DataFrame:
        """The protocol checks' violations (``tallyscope check``), one row per broken
        control relation: ``line`` in the source, ``station``, the hierarchy, ``rule``,
        ``relation``, ``left``, ``right``, ``gap`` (null for relations between stations),
        ``other_station``, ``other_line``."""
        return pl.DataFrame(self._e.check())

    def __repr__(self) -> str:
        return f"<tallyscope.Election {self.source}: {self.stations:,} stations, {len(self.candidates)} candidates>"


def read(
    source: Source,
    *,
    mapping: str | os.PathLike[str] | None = None,
    registered: Columns | None = None,
    received: Columns | None = None,
    issued: Columns | None = None,
    cancelled: Columns | None = None,
    in_boxes: Columns | None = None,
    invalid: Columns | None = None,
    valid: Columns | None = None,
    lost: Columns | None = None,
    unaccounted: Columns | None = None,
    candidates: Sequence[str] | None = None,
    region: str | None = None,
    levels: Sequence[str] | None = None,
    commission: str | None = None,
    station: Columns | None = None,
    ignore: Sequence[str] | None = None,
    na: Sequence[str] | None = None,
    where: Sequence[str] | None = None,
    long: dict[str, Any] | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    sheet: str | int | None = None,
    skip_bad_rows: bool = False,
) -> Election:
    """Read protocols from a file or a DataFrame.

    ``source`` is a path (anything ``tallyscope`` reads: CSV plain, ``.zip`` or ``.gz``,
    ``.xlsx``/``.xls``/``.ods``) or a polars / pandas DataFrame with one row per station.
    Columns are recognised from their names as on the command line; the keywords name
    them where recognition needs help, with the keys of a mapping file (``mapping=``
    names one; keywords win over it): ``registered``, ``issued`` (several columns are
    summed), ``in_boxes``, ``valid``, ``invalid``, ``received``, ``cancelled``, ``lost``,
    ``unaccounted``, ``candidates``, ``region``, ``levels`` (between region and
    commission), ``commission``, ``station`` (several columns make one key), ``ignore``,
    ``na`` (more "no data" values), ``where`` (``["KOLO=1"]``: one round of a stacked
    file), and ``long=dict(station=[...], candidate=..., votes=..., where=[...])`` for one
    row per station × candidate. ``delimiter``, ``encoding`` and ``sheet`` are for files.

    A DataFrame is read exactly as the same table saved as CSV would be (its nulls are
    unpublished lines); a problem names the column, the value and the DataFrame's row.

    Raises :class:`InputError` for bad data (a negative or non-numeric count, a missing
    column named by a keyword, …), :class:`UsageError` for keywords that cannot work,
    ``FileNotFoundError`` for a missing file.
    """
    keys: dict[str, Any] = {}
    for k, v in (
        ("registered", registered),
        ("received", received),
        ("issued", issued),
        ("cancelled", cancelled),
        ("in_boxes", in_boxes),
        ("invalid", invalid),
        ("valid", valid),
        ("lost", lost),
        ("unaccounted", unaccounted),
    ):
        if v is not None:
            keys[k] = _names(v)
    if candidates is not None:
        keys["candidates"] = _names(candidates)
    for k, v in (("region", region), ("commission", commission), ("delimiter", delimiter)):
        if v is not None:
            keys[k] = str(v)
    if station is not None:
        keys["station"] = ",".join(_names(station) or [])
    for k, v in (("levels", levels), ("ignore", ignore), ("na", na), ("where", where)):
        if v is not None:
            keys[k] = _names(v)
    if long is not None:
        if not isinstance(long, dict):
            raise TypeError("long= takes a dict: long=dict(station=[...], candidate='candidate', votes='votes')")
        lk = dict(long)
        unknown = sorted(set(lk) - {"station", "candidate", "votes", "where"})
        if unknown:
            raise TypeError(f"long= keys are station, candidate, votes and where; got {', '.join(map(repr, unknown))}")
        if "station" in lk:
            lk["station"] = _names(lk["station"])
        if "where" in lk:
            lk["where"] = _names(lk["where"])
        keys["long"] = lk
    mapping_json = json.dumps(keys)
    mapping_file = os.fspath(mapping) if mapping is not None else None
    if isinstance(source, (str, os.PathLike)):
        return Election(
            _native.read_path(
                os.fspath(source),
                mapping_json,
                mapping_file,
                skip_bad_rows,
                encoding,
                None if sheet is None else str(sheet),
            )
        )
    if encoding is not None or sheet is not None or delimiter is not None:
        raise TypeError("delimiter=, encoding= and sheet= are for files; a DataFrame is read as it is")
    return Election(_native.read_csv(_FRAME_NAME, _frame_csv(source), mapping_json, mapping_file, skip_bad_rows, True))


class Analysis:
    """The checks, the statistical battery and the ranking of one election
    (``tallyscope analyze``), returned by :func:`analyze`.

    Tables (polars DataFrames, built on first use): :attr:`tests`, :attr:`stations`,
    :attr:`commissions`, :attr:`regions`, :attr:`violations`; :attr:`summary` is
    ``summary.json`` as a dict. :meth:`report` writes the command line's folder,
    :meth:`plot` one chart. ``str(analysis)`` is the table ``analyze`` prints."""

    def __init__(self, native: _native.Analysis, election: Election) -> None:
        self._a = native
        self.election = election

    def _table(self, name: str) -> pl.DataFrame:
        # The Rust table's Arrow buffers, taken over by polars through the Arrow C
        # stream interface: no serialisation and no copy.
        return pl.DataFrame(self._a.table(name))

    @cached_property
    def tests(self) -> pl.DataFrame:
        """Every test × scope (``tests.csv``): ``test``, ``scope`` (nation,
        ``region:NAME``, ``commission:NAME``), ``n``, ``statistic``, ``null_mean``,
        ``null_sd``, ``z``, ``p``, ``q`` (Benjamini–Hochberg within a test and level),
        ``calibrated_alpha`` (type-I rate on clean replicates of the file), ``effect``,
        ``notes`` (a list)."""
        return self._table("tests")

    @cached_property
    def stations(self) -> pl.DataFrame:
        """Stations ranked by the evidence against them (``stations.csv``): ``rank``,
        ``station``, the hierarchy, ``line``, ``registered``, ``issued``, ``in_boxes``,
        ``valid``, ``leader_votes``, ``turnout_pct``, ``leader_share_pct``, ``score``,
        ``flagged`` (bool), ``reasons`` (a list of the pieces of evidence with their points)."""
        return self._table("stations")

    @cached_property
    def commissions(self) -> pl.DataFrame:
        """Commissions (the level above stations) ranked by score (``commissions.csv``)."""
        return self._table("commissions")

    @cached_property
    def regions(self) -> pl.DataFrame:
        """Regions (the top level) ranked by score (``regions.csv``)."""
        return self._table("regions")

    @cached_property
    def violations(self) -> pl.DataFrame:
        """Broken control relations (``violations.csv``), as :meth:`Election.check`."""
        return self._table("violations")

    @cached_property
    def summary(self) -> dict[str, Any]:
        """``summary.json``: what was read, the checks, every national and regional test
        (``summary["integer"]["either"]["excess"]`` is the integer-percentage excess),
        the calibration, the timings."""
        return json.loads(self._a.summary_json())

    @property
    def leader(self) -> str | None:
        """The leader the analysis used."""
        return self._a.leader

    def report(
        self,
        path: str | os.PathLike[str],
        *,
        formats: Iterable[Literal["csv", "json", "parquet"]] = ("csv", "json"),
        charts: bool = True,
    ) -> list[Path]:
        """Write the folder ``tallyscope analyze --out PATH`` writes: ``summary.json``,
        the tables in ``formats``, ``violations.csv``, and with ``charts`` the charts and
        ``report.html`` / ``report.md``. Returns the paths written."""
        return [Path(p) for p in self._a.write_folder(os.fspath(path), list(formats), charts)]

    def plot(self, kind: str, path: str | os.PathLike[str]) -> Path:
        """Draw one chart (a kind of :data:`CHARTS`, as ``tallyscope plot``) to ``path``,
        PNG or SVG by its extension. Returns the path."""
        self._a.plot(kind, os.fspath(path))
        return Path(path)

    def __str__(self) -> str:
        return self._a.text()

    def __repr__(self) -> str:
        return f"<tallyscope.Analysis {self.election.source}: {self._a.stations:,} stations, leader {self.leader}>"

    def _repr_html_(self) -> str:
        s = self.summary
        e = html.escape
        rows: list[tuple[str, str]] = [("file", e(str(s.get("file")))), ("stations", f"{s.get('stations', 0):,}"), ("leader", e(str(s.get("leader"))))]
        integer = s.get("integer", {}).get("either")
        if integer and integer.get("excess") is not None:
            sd = integer.get("sd")
            rows.append(
                (
                    "integer-percentage excess (turnout or leader)",
                    f"{integer['excess']:,.0f}" + (f" (sd {sd:,.0f})" if sd else ""),
                )
            )
        for t in s.get("tests", []):
            if t.get("test") == "shpilkin.anomalous_votes" and t.get("scope") == "nation":
                rows.append(("anomalous votes (Shpilkin, raw)", f"{t['statistic']:,.0f}"))
        flagged = self.stations.get_column("flagged").sum() if "flagged" in self.stations.columns else 0
        rows.append(("flagged stations", f"{flagged:,}"))
        rows.append(("protocol violations", f"{self.violations.height:,}"))
        body = "".join(f"<tr><th style='text-align:left'>{k}</th><td style='text-align:right'>{v}</td></tr>" for k, v in rows)
        return f"<div><b>tallyscope analysis</b><table>{body}</table></div>"


def analyze(
    source: Source | Election,
    *,
    seed: int | None = None,
    leader: str | None = None,
    bootstrap: int | None = None,
    fingerprint: bool = True,
    fingerprint_bootstrap: int | None = None,
    digit_draws: int | None = None,
    mc: int | None = None,
    max_denominator: int | None = None,
    rozenas_draws: int | None = None,
    coarse_candidates: Literal["leader", "all"] | None = None,
    coarse_max_stations: int | None = None,
    spikes: bool = False,
    penultimate: bool = False,
    flag_threshold: float | None = None,
    calibration_reps: int | None = None,
    include_abroad: bool = False,
    **read_keywords: Any,
) -> Analysis:
    """Analyse an election as ``tallyscope analyze`` does: protocol checks, the
    statistical battery, ranked stations, commissions and regions.

    ``source`` is an :class:`Election`, or what :func:`read` takes (with its keywords).
    Every option is the command line's flag of the same name (``tallyscope analyze
    --help``); ``None`` takes its default: ``seed`` 20260101, ``bootstrap`` 100,
    ``digit_draws`` 99, ``rozenas_draws`` 999, ``max_denominator`` 10,
    ``calibration_reps`` as many clean replicates of the file as about 1.4 s allows (at
    most 200; ``0`` is ``--no-calibration``). ``fingerprint=False`` is
    ``--no-fingerprint``. The result equals the command line's for the same input and
    options. The GIL is released while it runs.
    """
    if isinstance(source, Election):
        if read_keywords:
            raise TypeError(f"read keywords ({', '.join(sorted(read_keywords))}) apply when analyze() reads the source itself")
        election = source
    else:
        election = read(source, **read_keywords)
    flags: list[str] = []
    for flag, value in (
        ("--seed", seed),
        ("--leader", leader),
        ("--bootstrap", bootstrap),
        ("--fingerprint-bootstrap", fingerprint_bootstrap),
        ("--digit-draws", digit_draws),
        ("--mc", mc),
        ("--max-denominator", max_denominator),
        ("--rozenas-draws", rozenas_draws),
        ("--coarse-candidates", coarse_candidates),
        ("--coarse-max-stations", coarse_max_stations),
        ("--flag-threshold", flag_threshold),
    ):
        if value is not None:
            flags += [flag, str(value)]
    if calibration_reps is not None:
        flags += ["--no-calibration"] if calibration_reps == 0 else ["--calibration-reps", str(calibration_reps)]
    for flag, on in (("--no-fingerprint", not fingerprint), ("--spikes", spikes), ("--penultimate", penultimate), ("--include-abroad", include_abroad)):
        if on:
            flags.append(flag)
    return Analysis(_native.analyze(election._e, flags), election)


def simulate(
    stations: int | None = None,
    *,
    candidates: int | None = None,
    regions: int | None = None,
    commissions: int | None = None,
    seed: int | None = None,
    turnout: float | None = None,
    leader_share: float | None = None,
    invalid: float | None = None,
    fraud: Sequence[str] = (),
    observers: float | None = None,
    observer_kind: Literal["copy", "minimum", "sample"] | None = None,
) -> tuple[pl.DataFrame, ...]:
    """Simulate a national election with injected fraud (``tallyscope simulate``).

    Returns ``(protocols, truth)``: the protocols, one row per station (what
    :func:`read` and :func:`analyze` take), and the ground truth (each station's fraud).
    ``fraud`` takes the command line's specs, e.g. ``["stuffing:0.05:0.3",
    "transfer:0.03:0.3"]`` (``tallyscope simulate --help`` lists the kinds). ``None`` takes
    the command line's default: 10,000 stations, 5 candidates, 20 regions, seed 1,
    turnout 0.55, leader share 0.60, invalid 0.015. With ``observers=F`` (a fraction of
    the stations) it returns ``(protocols, truth, observed)``: what observers recorded
    there (``observer_kind`` ``copy``, ``minimum`` or ``sample``), for :func:`compare`.
    """
    flags: list[str] = []
    for flag, value in (
        ("--stations", stations),
        ("--candidates", candidates),
        ("--regions", regions),
        ("--commissions", commissions),
        ("--seed", seed),
        ("--turnout", turnout),
        ("--leader-share", leader_share),
        ("--invalid", invalid),
        ("--observers", observers),
        ("--observer-kind", observer_kind),
    ):
        if value is not None:
            flags += [flag, str(value)]
    if isinstance(fraud, str):
        fraud = [fraud]
    for f in fraud:
        flags += ["--fraud", str(f)]
    protocols, truth, observed, _summary = _native.simulate(flags)
    out = (pl.read_csv(protocols, infer_schema_length=None), pl.read_csv(truth, infer_schema_length=None))
    if observed is not None:
        out += (pl.read_csv(observed, infer_schema_length=None),)
    return out


class Comparison:
    """Official results against observers' records (``tallyscope compare``), returned by
    :func:`compare`: :attr:`discrepancies` (one row per station × field that differs),
    :attr:`stations` (one row per joined station), :attr:`summary` (``summary.json``:
    the join accounting, votes moved from whom to whom, the PVT estimate),
    :attr:`exit_code` (the command's: 0 no discrepancy, 1 discrepancies); ``str()`` is
    the summary the command prints."""

    def __init__(self, discrepancies: bytes, stations: bytes, summary: str, words: str, exit_code: int) -> None:
        self.discrepancies: pl.DataFrame = pl.read_csv(discrepancies, infer_schema_length=None)
        self.stations: pl.DataFrame = pl.read_csv(stations, infer_schema_length=None)
        self.summary: dict[str, Any] = json.loads(summary)
        self.exit_code = exit_code
        self._words = words

    def __str__(self) -> str:
        return self._words

    def __repr__(self) -> str:
        return f"<tallyscope.Comparison: {self.stations.height:,} joined stations, {self.discrepancies.height:,} differing figures>"


def compare(
    official: str | os.PathLike[str],
    observed: str | os.PathLike[str],
    *,
    observed_as: Literal["copy", "minimum", "sample"] | None = None,
    join: Sequence[str] | None = None,
    observed_column: Sequence[str] | None = None,
    observed_mapping: str | os.PathLike[str] | None = None,
    normalise_keys: bool = False,
    strata: str | None = None,
    confidence: float | None = None,
    mapping: str | os.PathLike[str] | None = None,
) -> Comparison:
    """Compare official results with observers' records, station by station
    (``tallyscope compare OFFICIAL OBSERVED``; the keywords are its flags, ``join`` and
    ``observed_column`` as lists of ``"LEFT=RIGHT"``). Both are files: save a DataFrame
    with ``df.write_csv(path)`` first, so that messages name a file and line."""
    for x in (official, observed):
        if not isinstance(x, (str, os.PathLike)):
            raise TypeError(f"compare() reads files; got {type(x).__name__} (save it with df.write_csv(path) first)")
    flags: list[str] = []
    for flag, value in (("--observed-as", observed_as), ("--strata", strata), ("--confidence", confidence), ("--mapping", mapping), ("--observed-mapping", observed_mapping)):
        if value is not None:
            flags += [flag, os.fspath(value) if isinstance(value, os.PathLike) else str(value)]
    for flag, values in (("--join", join), ("--observed-column", observed_column)):
        for v in _names(values) or []:
            flags += [flag, v]
    if normalise_keys:
        flags.append("--normalise-keys")
    return Comparison(*_native.compare(os.fspath(official), os.fspath(observed), flags))
