# SPDX-License-Identifier: Apache-2.0
"""Shared fixtures for the Python tests: where the built programs are, and
short directories for ipc:// sockets."""
import atexit
import os
import pathlib
import shutil
import socket
import tempfile
import time

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


_SHORT_DIRS = []


def short_dir():
    """A new directory under /tmp with a short name, removed when the tests
    end: an ipc:// socket path must stay within 107 characters, which a
    pytest tmp_path can exceed."""
    d = tempfile.mkdtemp(prefix="ddq", dir="/tmp")
    _SHORT_DIRS.append(d)
    return pathlib.Path(d)


atexit.register(lambda: [shutil.rmtree(d, ignore_errors=True) for d in _SHORT_DIRS])


def ipc_endpoints(names=("control", "monitor", "storage")):
    """{name: ipc://DIR/name} in a new short directory: darkdaqd's default
    kind of endpoint (version 2 of the endpoint table, proto/README.md)."""
    d = short_dir()
    return {k: "ipc://%s/%s" % (d, k) for k in names}


def listening(ep):
    """Whether something accepts a connection on ipc:// path or tcp://
    host:port ep now (darkdaq-ctl's own connect check answers "no answer"
    within a second when nothing does; a daemon just started binds after
    that, under load)."""
    try:
        if ep.startswith("ipc://"):
            s = socket.socket(socket.AF_UNIX)
            target = ep[6:]
        else:
            host, port = ep[6:].rsplit(":", 1)
            s = socket.socket(socket.AF_INET6 if host.startswith("[") else socket.AF_INET)
            target = (host.strip("[]"), int(port))
        with s:
            s.settimeout(5)
            s.connect(target)
        return True
    except OSError:
        return False


def wait_listening(ep, proc, bound_s=60):
    """Waits until ep is listening(), while proc runs; returns False at
    once when proc has exited (its caller's next step then fails, saying
    why), else True, or fails the test after bound_s."""
    end = time.monotonic() + bound_s
    while not listening(ep):
        try:
            proc.wait(timeout=0.05)
            return False
        except Exception:
            pass
        assert time.monotonic() < end, "nothing listens on %s after %d s" % (ep, bound_s)
    return True


@pytest.fixture
def bin_dir():
    return BUILD / "bin"
