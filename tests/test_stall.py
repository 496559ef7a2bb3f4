# SPDX-License-Identifier: Apache-2.0
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


def wait_stalled(lv, name):
    """Waits until status shows the source stalled; returns that status."""
    def stalled():
        st = lv.status()
        src = [s for s in st["sources"] if s["name"] == name][0]
        return st if src["stalled"] else None
    return lv.wait_for(stalled, "source %s reported stalled" % name)


def test_a_stalled_source_thread_is_reported_and_nothing_is_decided_against_it(
        tmp_path, live_factory):  # noqa: F811
    n = 6000
    files = make_boards(tmp_path, n, 23)
    ref_events, ref_others = records(replay(tmp_path, files))
    sources = file_sources(files, 2000)
    # board2's thread is held for 2 s in its driver after 1000 fragments, as
    # a thread that gets no CPU is: its board sends, nobody reads
    sources = sources.replace("[source.board3]", "stall_after_fragments = 1000\n"
                              "stall_ms = 2000\n[source.board3]")
    lv = live_factory(sources, builder="[builder]\nsources = 0,1,2,3\n")
    lv.ctl("configure")
    lv.ctl("start", "--run", "3")
    st = wait_stalled(lv, "board2")
    assert [s["name"] for s in st["sources"] if s["stalled"]] == ["board2"]
    assert not st["sources"][2]["silent"]
    lv.wait_for(lambda: all(s["ended"] for s in lv.status()["sources"]), "every file read",
                bound_s=120)
    lv.wait_for(lambda: lv.status()["builder"].get("open_events", 1) == 0, "every event out")
    lv.wait_for(lambda: lv.status()["storage"]["held_records"] == 0, "the store caught up")
    st = lv.status()
    assert lv.ctl("stop")["store_confirmed"] is True
    events, others = records(lv.run_file(3))
    assert events == ref_events
    assert others == ref_others
    assert st["builder"]["forced_by_timeout"] == 0
    assert st["sources"][2]["stalls"] == 1 and not st["sources"][2]["stalled"]
    log = lv.daemon_log()
    assert 'source "board2" (file): stalled' in log, log
    assert 'source "board2": its thread runs again after' in log, log
    assert "silent for" not in log, log


def test_a_board_that_stops_is_silent_and_its_events_are_decided_by_timeout(
        tmp_path, live_factory):  # noqa: F811
    n = 2000
    files = make_boards(tmp_path, n, 25)
    ref_events, _ = records(replay(tmp_path, files))
    # board1's file holds half the triggers; the others follow theirs at its
    # end, as boards that stopped sending
    half = tmp_path / "board-1-half.raw"
    raw = files[1].read_bytes()
    half.write_bytes(raw[:len(raw) // 2])
    sources = "".join("[source.board%d]\ndriver = file\npath = %s\nfollow = yes\n"
                      % (b, half if b == 1 else f) for b, f in enumerate(files))
    lv = live_factory(sources, daemon_extra="silence_warn_ms = 1000\n",
                      builder="[builder]\nsources = 0,1,2,3\nbuild_timeout_ms = 300\n")
    lv.ctl("configure")
    lv.ctl("start", "--run", "3")
    lv.wait_for(lambda: lv.status()["builder"].get("events", 0) == len(ref_events),
                "every trigger decided (board1 by timeout)")
    st = lv.wait_for(lambda: (lambda s: s if s["sources"][1]["silent"] else None)(lv.status()),
                     "board1 reported silent")
    assert st["builder"]["forced_by_timeout"] > 0
    assert not any(s["stalled"] for s in st["sources"])
    lv.wait_for(lambda: 'source "board1" (file): silent for' in lv.daemon_log(),
                "the silence in the log")
    lv.wait_for(lambda: "decided without waiting for silent source" in lv.daemon_log(),
                "the forced decisions in the log")
    log = lv.daemon_log()
    assert "1 [board1]" in log, log
    lv.ctl("stop")
