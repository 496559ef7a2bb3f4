# SPDX-License-Identifier: Apache-2.0
"""Shared fixtures for the Python tests: where the built programs are."""
import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
BUILD = ROOT / os.environ.get("DARKDAQ_BUILD", "build")
DATA = ROOT / "tests" / "data"

# The USB tests need umockdev around the daemon: make check-usb runs them by
# path (tests/usb/run.sh), a plain `pytest tests` leaves them out.
collect_ignore = ["usb"]


def program(name):
    """Path of a built program; the test fails (not skips) when it is missing."""
    path = BUILD / "bin" / name
    assert path.exists(), f"{path} is not built: run make first"
    return str(path)


@pytest.fixture
def bin_dir():
    return BUILD / "bin"
