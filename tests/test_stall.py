"""A stalled daemon is not a silent board: darkdaqd stopped (SIGSTOP) in the
middle of a run on paced file sources, for longer than build_timeout_ms,
must build exactly the events `darkdaqd --replay` builds from the same
files, with every late, junk and corrupt record once: silence counts only
while the source's own thread runs and its driver has nothing.  The stop's
length is the fault itself, not a wait for something; everything else waits
on state, with generous bounds."""
import os
import signal
import subprocess
import time

import pytest

from conftest import program
from test_live import Live, live_factory  # noqa: F401 (a fixture)
from darkdaq_reader import read_run

BOARDS = 4


def make_boards(tmp, n, seed):
    out = tmp / "sim"
    subprocess.run([program("darkdaq-sim"), "-n", str(n), "--seed", str(seed), "--process", "mix",
                    "--missing", "0.01", "--late", "0.01", "--junk", "0.01",
                    "--crc-errors", "0.005", "-o", str(out)], check=True, capture_output=True)
    return [out / ("board-%d.raw" % b) for b in range(BOARDS)]


def file_sources(files, rate_hz):
    return "".join("[source.board%d]\ndriver = file\npath = %s\nrate_hz = %g\n" % (b, f, rate_hz)
                   for b, f in enumerate(files))


def records(path):
    """Events by trigger (their whole bytes) and the other records as a
    sorted list, so that two runs compare record for record."""
    events, others = {}, []
    for rec in read_run(str(path)):
        k = rec.WhichOneof("body")
        if k == "event":
            assert rec.event.trigger not in events, "trigger %d twice" % rec.event.trigger
            events[rec.event.trigger] = rec.event.SerializeToString(deterministic=True)
        elif k in ("late", "junk", "corrupt"):
            others.append((k, getattr(rec, k).SerializeToString(deterministic=True)))
    return events, sorted(others)


def replay(tmp, files):
    ref = tmp / "replay.dkr"
    subprocess.run([program("darkdaqd"), "--replay"] + [str(f) for f in files] +
                   ["-o", str(ref), "--run", "3"], check=True, capture_output=True)
    return ref


@pytest.mark.parametrize("stop_s", [2, 5])
def test_sigstop_of_the_daemon_splits_no_event(tmp_path, live_factory, stop_s):  # noqa: F811
    n = int(os.environ.get("DARKDAQ_STALL_EVENTS", "8000"))
    files = make_boards(tmp_path, n, 21)
    ref_events, ref_others = records(replay(tmp_path, files))
    lv = live_factory(file_sources(files, float(os.environ.get("DARKDAQ_STALL_RATE", "4000"))), builder="[builder]\nsources = 0,1,2,3\n")
    lv.ctl("configure")
    lv.ctl("start", "--run", "3")
    lv.wait_for(lambda: lv.status()["builder"].get("events", 0) >= 500, "500 events")
    os.kill(lv.d.pid, signal.SIGSTOP)
    time.sleep(stop_s)          # the fault: the daemon gets no CPU for stop_s
    os.kill(lv.d.pid, signal.SIGCONT)
    lv.wait_for(lambda: all(s["ended"] for s in lv.status()["sources"]), "every file read",
                bound_s=120)
    lv.wait_for(lambda: lv.status()["builder"].get("open_events", 1) == 0, "every event out")
    lv.wait_for(lambda: lv.status()["storage"]["held_records"] == 0, "the store caught up")
    st = lv.status()
    r = lv.ctl("stop")
    assert r["store_confirmed"] is True, r
    events, others = records(lv.run_file(3))
    assert sorted(events) == sorted(ref_events)
    assert [t for t in events if events[t] != ref_events[t]] == []
    assert others == ref_others
    assert st["builder"]["forced_by_timeout"] == 0, st["builder"]
    assert st["builder"].get("late_without_event", 0) == 0
    assert "did not run for" in lv.daemon_log()
