# SPDX-License-Identifier: Apache-2.0
"""The pcie driver end to end: darkdaq-sim --pcie plays a board's FPGA on a
64 KiB ring file, darkdaqd reads it with the pcie driver, the store writes
the run.  Every fragment arrives exactly once although the fragments wrap
the ring end many times; a host that stops reading makes the FPGA drop
fragments, and the daemon reports that loss (DROPPED, OVERFLOW) in status
and metrics.  DARKDAQ_PCIE_FRAGMENTS sets the size of the first test
(default 100000; the full proof is 10000000)."""
import os
import signal
import subprocess
import time

import pytest

from conftest import program
from darkdaq_reader import read_run
from test_live import live_factory  # noqa: F401  (the fixture)

FRAGMENTS = int(os.environ.get("DARKDAQ_PCIE_FRAGMENTS", "100000"))
RING = 65536


def start_fpga(tmp, n, timeout_ms, seed=3):
    """darkdaq-sim --pcie as board 0 of a one-board system; returns once the
    ring file's registers are laid out (the sim writes ID last)."""
    path = tmp / "ring.pcie"
    log = open(tmp / "sim.log", "w+")
    p = subprocess.Popen([program("darkdaq-sim"), "--pcie", str(path), "--board", "0",
                          "--boards", "1", "-n", str(n), "--seed", str(seed),
                          "--ring-bytes", str(RING), "--pcie-timeout-ms", str(timeout_ms)],
                         stdout=subprocess.DEVNULL, stderr=log)
    end = time.monotonic() + 30
    while True:
        if path.exists() and path.stat().st_size >= 4096 + RING:
            with open(path, "rb") as f:
                if f.read(4) == b"DKPC":
                    return p, path, log
        assert time.monotonic() < end, "the sim never laid out the ring file"
        try:
            p.wait(timeout=0.02)
            log.seek(0)
            pytest.fail("darkdaq-sim exited: " + log.read())
        except subprocess.TimeoutExpired:
            pass


def source_status(lv):
    return lv.status()["sources"][0]


def run_triggers(lv, run):
    """Event triggers of every file of the run (the store rotates at 1 GiB)."""
    triggers = []
    files = sorted(lv.store_dir.glob("run-%06d-*.dkr" % run))
    assert files and files[0] == lv.run_file(run)
    for f in files:
        for rec in read_run(str(f)):
            if rec.WhichOneof("body") == "event":
                triggers.append(rec.event.trigger)
    return triggers


def test_every_fragment_once_through_a_64k_ring(tmp_path, live_factory):  # noqa: F811
    sim, path, _ = start_fpga(tmp_path, FRAGMENTS, timeout_ms=60000)
    lv = live_factory("[source.board0]\ndriver = pcie\npath = %s\n" % path,
                      builder="[builder]\nsources = 0\n")
    try:
        assert lv.ctl("configure")["state"] == "configured"
        lv.ctl("start", "--run", "1")
        lv.wait_for(lambda: sim.poll() is not None, "the sim to write every fragment",
                    bound_s=600)
        assert sim.returncode == 0
        lv.wait_for(lambda: lv.status()["builder"].get("fragments", 0) >= FRAGMENTS,
                    "every fragment to reach the builder", bound_s=600)
        r = lv.ctl("stop")
        assert r["ok"], r
    finally:
        if sim.poll() is None:
            sim.kill()
    s = source_status(lv)
    assert s["upstream_dropped"] == 0 and not s["overflow"]
    assert s["bytes"] > 50 * RING             # the fragments wrapped the ring end
    triggers = run_triggers(lv, 1)
    assert len(triggers) == FRAGMENTS
    assert sorted(triggers) == list(range(1, FRAGMENTS + 1))


def test_a_stopped_host_makes_the_fpga_drop_and_the_daemon_says_so(tmp_path,
                                                                  live_factory):  # noqa: F811
    n = 50000
    sim, path, log = start_fpga(tmp_path, n, timeout_ms=0)
    lv = live_factory("[source.board0]\ndriver = pcie\npath = %s\n" % path,
                      builder="[builder]\nsources = 0\n")
    try:
        lv.ctl("configure")
        lv.ctl("start", "--run", "2")
        os.kill(lv.d.pid, signal.SIGSTOP)         # the host stops reading
        try:
            sim.wait(timeout=120)
        finally:
            os.kill(lv.d.pid, signal.SIGCONT)
    finally:
        if sim.poll() is None:
            sim.kill()
    log.seek(0)
    text = log.read()
    dropped = int(text.split("pieces dropped")[0].split(":")[-1].strip())
    assert dropped > 0, text
    lv.wait_for(lambda: source_status(lv)["upstream_dropped"] == dropped,
                "the daemon to report the FPGA's drops")
    s = source_status(lv)
    assert s["overflow"]
    lv.wait_for(lambda: lv.status()["builder"].get("fragments", 0) >= n - dropped,
                "what the ring held to be read")
    lv.ctl("stop")
    triggers = run_triggers(lv, 2)
    assert len(triggers) == n - dropped == len(set(triggers))
