"""Shared paths: the repository root, the command line built beside the package (the
tests compare with it), and the real data folder ../shared/data beside the repository."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "fixtures" / "small.csv"
RU2018 = ROOT.parent / "shared" / "data" / "ru" / "2018.csv.zip"


def cli_path() -> Path | None:
    """The `tallyscope` binary: $TALLYSCOPE_BIN, else target/release/tallyscope."""
    p = Path(os.environ.get("TALLYSCOPE_BIN", ROOT / "target" / "release" / "tallyscope"))
    return p if p.exists() else None


@pytest.fixture(scope="session")
def cli():
    """Runs the command line; skips loudly when it is not built (CI builds it first)."""
    p = cli_path()
    if p is None:
        msg = f"SKIPPED: the command line is not built ({ROOT / 'target/release/tallyscope'}); run `cargo build --release` first"
        print(msg, file=sys.stderr)
        pytest.skip(msg)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(p), *map(str, args)], capture_output=True, text=True)

    return run
