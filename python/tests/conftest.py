"""Shared data for the package's tests: the repository's digits, and the `bp-par` command
line to compare against (built by `cargo build --release`, or named by $BP_PAR)."""

import os
import pathlib

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def digits():
    """The shipped 5,000 20x20 digits: X float32 (pixels 0..255), y int64 labels 0..9."""
    data = np.loadtxt(ROOT / "datasets" / "digits.csv", delimiter=",", skiprows=1, dtype=np.float32)
    return np.ascontiguousarray(data[:, 1:]), data[:, 0].astype(np.int64)


@pytest.fixture(scope="session")
def cli():
    """The `bp-par` executable; missing is a failure, not a skip (CI builds it first)."""
    path = pathlib.Path(os.environ.get("BP_PAR", ROOT / "target" / "release" / "bp-par"))
    if not path.is_file():
        pytest.fail(f"{path} is missing: run `cargo build --release` first (or set BP_PAR)")
    return str(path)
