"""Type stub of the compiled half of tallyscope (python/src/lib.rs). Use the functions
of the `tallyscope` package; these are its building blocks."""

from os import PathLike
from pathlib import Path

__version__: str
#: Chart kinds, as `tallyscope plot KIND`.
CHARTS: list[str]

class TallyscopeError(ValueError):
    """An error of tallyscope (a subclass of ValueError)."""

class InputError(TallyscopeError):
    """A problem in the data: the message names the file, line, column and value."""

    file: str
    #: 1-based line of the file (or of the DataFrame's CSV form: the header is line 1).
    line: int | None
    column: str | None
    value: str | None
    #: 0-based row of a DataFrame (None for a file).
    row: int | None

class UsageError(TallyscopeError):
    """An option or keyword that cannot work as given."""

class Table:
    """A result table built in Rust: one Arrow record batch, exported without a copy
    through the Arrow PyCapsule interface (`pl.DataFrame(table)`, `pyarrow.table(table)`)."""

    @property
    def num_rows(self) -> int: ...
    @property
    def column_names(self) -> list[str]: ...
    def __len__(self) -> int: ...
    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        """An Arrow C stream of the table's one record batch, in a PyCapsule."""

class Election:
    """Protocols read (a station table and how it was read)."""

    @property
    def stations(self) -> int: ...
    @property
    def candidates(self) -> list[str]: ...
    @property
    def source(self) -> str: ...
    def inspect_json(self) -> str:
        """`tallyscope inspect --json`, as JSON text."""
    def check(self) -> Table:
        """The violations table, as an Arrow table."""

class Analysis:
    """An analysis of one election."""

    @property
    def stations(self) -> int: ...
    @property
    def leader(self) -> str | None: ...
    def table(self, name: str) -> Table:
        """`tests`, `stations`, `commissions`, `regions` or `violations`, as an Arrow table."""
    def summary_json(self) -> str:
        """`summary.json` as JSON text."""
    def text(self) -> str:
        """The national table `analyze` prints."""
    def write_folder(self, dir: str | PathLike[str], formats: list[str], charts: bool) -> list[Path]:
        """Writes the folder `analyze --out DIR` writes; returns the paths."""
    def plot(self, kind: str, path: str | PathLike[str]) -> None:
        """Draws one chart to a .png or .svg file."""

def read_path(
    path: str | PathLike[str],
    mapping_json: str,
    mapping_file: str | PathLike[str] | None = None,
    skip_bad_rows: bool = False,
    encoding: str | None = None,
    sheet: str | None = None,
) -> Election:
    """Reads a protocol file; `mapping_json` holds the mapping file's keys."""

def read_csv(
    name: str,
    csv: bytes,
    mapping_json: str,
    mapping_file: str | PathLike[str] | None = None,
    skip_bad_rows: bool = False,
    frame: bool = True,
) -> Election:
    """Reads protocols given as CSV text (a DataFrame written out); `name` stands for the source in messages."""

def analyze(election: Election, flags: list[str]) -> Analysis:
    """Analyses with the options of `tallyscope analyze FILE <flags>`."""

def simulate(flags: list[str]) -> tuple[bytes, bytes, bytes | None, str]:
    """`tallyscope simulate <flags>`: protocols, truth and (with --observers) observed records as CSV text, and the summary."""

def compare(official: str | PathLike[str], observed: str | PathLike[str], flags: list[str]) -> tuple[bytes, bytes, str, str, int]:
    """`tallyscope compare OFFICIAL OBSERVED <flags>`: discrepancies and stations as CSV text, summary.json, the printed summary, the exit status."""
