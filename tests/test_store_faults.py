# SPDX-License-Identifier: Apache-2.0
"""darkdaq-store when the disk fails under it, with the real darkdaqd
sending a simulated run (issue 15): nothing it acknowledged is lost,
nothing is stored twice.

- The fault seam (tests/preload/faultfs.c, LD_PRELOAD): a write, fsync,
  close or rename of a run file fails once in the middle of the run.
- A private small tmpfs (unshare -m, mount -t tmpfs) that fills while
  the test moves finished files away, with floors of 0, 1 MiB and 8 MiB.

Each run checks every trigger once across the run's files, every file
closed with its trailer and sidecar, file numbers without gaps, and one
FULL and one RESUME per fill-and-free cycle.  No test sleeps: each waits on
the state it needs with a generous bound."""
import errno
import json
import os
import pathlib
import shutil
import signal
import subprocess
import time

import pytest

from conftest import BUILD
from darkdaq_reader import RunFile, crc32c
from test_live import Live, sim_sources, store_command

FAULTFS = str(BUILD / "tests" / "preload" / "libfaultfs.so")
BOUND_S = 60                    # catches hangs only


class StoreLive(Live):
    """darkdaqd and a darkdaq-store started through wrap(cmd), with env."""

    def __init__(self, tmp, sources, store_extra, env=None, wrap=None):
        self.env, self.wrap = env, wrap
        super().__init__(tmp, sources, daemon_extra="stop_timeout_ms = 30000\n",
                         store_extra=store_extra)

    def start_store(self):
        cmd = store_command(self.store_conf)
        if self.wrap:
            cmd = self.wrap(cmd)
        self.store = subprocess.Popen(cmd, stderr=self.store_log, stdout=subprocess.DEVNULL,
                                      env=self.env)

    def store_text(self):
        self.store_log.flush()
        return (self.tmp / "store.log").read_text()

    def wait_store(self, cond, what, bound_s=BOUND_S):
        """Like wait_for, and fails at once when the store exits."""
        def both():
            if self.store.poll() is not None:
                pytest.fail("the store exited %s waiting for %s\n%s" % (
                    self.store.returncode, what, self.store_text()))
            return cond()
        try:
            return self.wait_for(both, what, bound_s)
        except AssertionError as e:
            raise AssertionError("%s\nstore log:\n%s" % (e, self.store_text()))


@pytest.fixture
def lives():
    made = []
    yield made
    for lv in made:
        lv.close()


def finished(d):
    """Closed run files in d: NAME with its sidecar NAME.json."""
    return sorted(p for p in d.glob("run-*.dkr") if p.with_name(p.name + ".json").exists())


def check_run(files, run, n):
    """Every file of the run closed (trailer, sidecar with its CRC), numbered
    000.. without a gap, each holding records besides its header and
    trailer; the triggers 1..n each exactly once across them."""
    assert files, "no run file"
    triggers = []
    for i, p in enumerate(sorted(files, key=lambda p: p.name)):
        assert p.name == "run-%06d-%03d.dkr" % (run, i), [f.name for f in files]
        recs = list(RunFile(str(p)))
        kinds = [r.WhichOneof("body") for r in recs]
        assert kinds[0] == "run_header" and kinds[-1] == "run_trailer", (p.name, kinds[:3])
        assert recs[0].run_header.file_sequence == i
        assert len(recs) > 2, "%s holds nothing but its header and trailer" % p.name
        side = json.loads(p.with_name(p.name + ".json").read_text())
        data = p.read_bytes()
        assert side["bytes"] == len(data) and side["crc32c"] == "%08x" % crc32c(data)
        assert side["end_reason"] == recs[-1].run_trailer.end_reason
        assert recs[-1].run_trailer.records_in_file == len(recs)
        triggers += [r.event.trigger for r in recs if r.WhichOneof("body") == "event"]
    dup = len(triggers) - len(set(triggers))
    assert dup == 0, "%d triggers stored twice" % dup
    missing = sorted(set(range(1, n + 1)) - set(triggers))
    assert not missing, "%d triggers missing, first %s" % (len(missing), missing[:5])
    assert len(triggers) == n


def cycles(log):
    return log.count("FULL sent"), log.count("RESUME sent")


def stop_run(lv, run, n):
    lv.wait_store(lambda: lv.status()["builder"].get("events") == n, "every event built")
    lv.wait_store(lambda: lv.status()["storage"]["held_records"] == 0,
                  "the store to take every record")
    r = lv.ctl("stop")
    assert r["store_confirmed"] is True, (r, lv.store_text())


# ---- the fault seam --------------------------------------------------------------

FAULTS = [
    # op, errno, what the store says it was doing
    ("write", "ENOSPC", None),          # an ACK's flush, or a rotation's
    ("fsync", "EIO", None),             # an ACK's fdatasync, or a rotation's fsync
    ("close", "ENOSPC", "closing"),     # a rotation: close reports delayed allocation's ENOSPC
    ("rename", "EROFS", "closing"),     # a rotation: NAME.part stays NAME.part for a while
]


@pytest.mark.parametrize("op,err,doing", FAULTS, ids=[f[0] for f in FAULTS])
def test_a_fault_once_mid_run_loses_nothing_and_stores_nothing_twice(tmp_path, lives, op, err,
                                                                     doing):
    n, run = 3000, 4
    arm, flog = tmp_path / "armed", tmp_path / "faults.log"
    env = dict(os.environ, LD_PRELOAD=FAULTFS, DARKDAQ_FAULTS="%s:%s:1:.dkr.part$" % (op, err),
               DARKDAQ_FAULTS_ARM=str(arm), DARKDAQ_FAULTS_LOG=str(flog),
               ASAN_OPTIONS="verify_asan_link_order=0:" + os.environ.get("ASAN_OPTIONS", ""))
    lv = StoreLive(tmp_path, sim_sources(n, 17, rate=1500, boards=2),
                   "min_free_bytes = 0\nresume_margin_bytes = 0\nmax_file_bytes = 150000\n",
                   env=env)
    lives.append(lv)
    lv.ctl("configure")
    lv.ctl("start", "--run", str(run))
    lv.wait_store(lambda: lv.status()["storage"].get("acked", 0) > 500, "the store to ack some")
    assert lv.status()["builder"].get("events", 0) < n, "the run ended before the fault"
    arm.write_text("")
    lv.wait_store(flog.exists, "the fault to be injected")
    stop_run(lv, run, n)
    check_run(finished(lv.store_dir), run, n)
    assert sorted(p.name for p in lv.store_dir.iterdir() if ".part" in p.name or
                  p.name.endswith(".tmp")) == []

    (line,) = flog.read_text().splitlines()      # once
    fop, ferr, path = line.split(" ", 2)
    assert fop == op and int(ferr) == getattr(errno, err)
    name = os.path.basename(path)[:-len(".part")]
    log = lv.store_text()
    said = [x for x in log.splitlines() if name in x and os.strerror(int(ferr)) in x]
    assert said, "the store's log does not name %s on %s:\n%s" % (err, name, log)
    if doing:
        assert any(doing in x for x in said), said
    assert cycles(log) == (1, 1), log


# ---- a small disk that fills -----------------------------------------------------

USABLE = 3 << 20                # the tmpfs holds the floor and this much more
# resume_margin_bytes: more than a cut back file gives back (what came since
# its last fsync), so that only the test frees enough to resume
MARGIN = 1 << 20


def on_tmpfs(store_dir, size):
    """Wraps the store's command: a mount namespace of its own, where
    store_dir is a tmpfs of size bytes (the test reaches it through
    /proc/PID/root)."""
    def wrap(cmd):
        return ["unshare", "-m", "sh", "-c", 'mount -t tmpfs -o size=%d tmpfs "$0" && exec "$@"'
                % size, str(store_dir)] + cmd
    return wrap


class Disk:
    """The store's tmpfs as the test sees it, and what the test does to it:
    moves finished files away, fills it with ballast."""

    def __init__(self, lv, size, moved):
        self.lv, self.moved = lv, moved
        self.view = pathlib.Path("/proc/%d/root" % lv.store.pid) / \
            str(lv.store_dir).lstrip("/")
        moved.mkdir()

        def mounted():
            v = os.statvfs(self.view)
            return v.f_blocks * v.f_frsize == size
        lv.wait_store(mounted, "the store's tmpfs")

    def move_finished(self):
        for p in finished(self.view):
            side = p.with_name(p.name + ".json")
            shutil.move(str(p), str(self.moved / p.name))
            shutil.move(str(side), str(self.moved / side.name))

    def fill(self):
        """Writes ballast until the tmpfs is full (again)."""
        with open(self.view / "ballast", "ab", buffering=0) as f:
            try:
                while True:
                    f.write(b"B" * 65536)
            except OSError as e:
                assert e.errno == errno.ENOSPC, e

    def free_ballast(self):
        (self.view / "ballast").unlink(missing_ok=True)

    def left(self):
        return sorted(p.name for p in self.view.iterdir())


FLOORS = [0, 1 << 20, 8 << 20]
FILLS = {
    # the store's own writes reach the floor between two disk checks: it
    # must count what it wrote since the last one, and go FULL in time
    "between-checks": dict(max_file_bytes=400000, ballast=False, n=1500, rate=1000),
    # ballast fills the disk while a big file is appended to (slower: the
    # store's own files must not fill it before the test's first looks)
    "append": dict(max_file_bytes=600000, ballast=True, n=600, rate=300),
    # ballast fills it while small files rotate many times a second
    "rotation": dict(max_file_bytes=32768, ballast=True, n=600, rate=300),
}


@pytest.mark.parametrize("fill", list(FILLS))
@pytest.mark.parametrize("floor", FLOORS, ids=["floor0", "floor1M", "floor8M"])
def test_a_small_disk_that_fills_loses_nothing_and_stores_nothing_twice(tmp_path, lives, floor,
                                                                        fill):
    how = FILLS[fill]
    n, run = how["n"], 6
    size = floor + USABLE
    store_dir = tmp_path / "store"
    # board 3 sends 6000 raw bytes per event: ~6 kB an event
    sources = sim_sources(n, 23, rate=how["rate"], boards=4).replace("rate_hz", "raw_bytes = 6000\nrate_hz")
    lv = StoreLive(tmp_path, sources,
                   "min_free_bytes = %d\nresume_margin_bytes = %d\nmax_file_bytes = %d\n"
                   % (floor, MARGIN, how["max_file_bytes"]), wrap=on_tmpfs(store_dir, size))
    lives.append(lv)
    disk = Disk(lv, size, tmp_path / "moved")
    lv.ctl("configure")
    lv.ctl("start", "--run", str(run))

    # The store's log says when it sent FULL and RESUME; the daemon's status
    # says what it made of them.  Files are moved away only once the store
    # is FULL (so that it cannot resume unseen): every cycle is one the
    # test saw fill and freed.  Ballast fills the disk early in the run,
    # long before the store's own files would.
    full_seen, ballast = 0, "none"         # none, in (on the disk), gone
    while True:
        st = lv.status()
        if st["builder"].get("events") == n and st["storage"]["held_records"] == 0:
            break
        fulls, resumes = cycles(lv.store_text())
        if fulls == resumes:
            assert lv.store.poll() is None, lv.store_text()
            if how["ballast"] and ballast == "none" and st["storage"].get("acked", 0) > 30:
                assert fulls == 0, lv.store_text()
                ballast = "in"
                disk.fill()
            continue
        # FULL: the daemon holds its records and asserts BUSY until space returns
        assert fulls == resumes + 1, lv.store_text()
        full_seen += 1
        if ballast == "in":
            disk.fill()     # what the store gave back, cutting its file, stays taken
        lv.wait_store(lambda: lv.status()["busy"], "BUSY while the store is FULL")
        for _ in range(5):
            st = lv.status()
            assert st["storage"]["store_full"] and st["busy"], (
                st["storage"]["store_full"], st["busy"], cycles(lv.store_text()),
                lv.store_text()[-3000:], lv.daemon_log()[-3000:])
        if ballast == "in":
            disk.free_ballast()
            ballast = "gone"
        disk.move_finished()
        lv.wait_store(lambda: cycles(lv.store_text())[1] > resumes, "RESUME")
    r = lv.ctl("stop")
    assert r["store_confirmed"] is True, (r, lv.store_text())
    disk.move_finished()
    # nothing left behind on the store's disk: no .part, no empty file
    assert disk.left() == [], disk.left()
    check_run(finished(disk.moved), run, n)

    log = lv.store_text()
    if how["ballast"]:
        assert ballast == "gone" and full_seen >= 1, (full_seen, log)
    else:
        # 1500 events, ~9 MB, 3 MiB free above the floor: it fills twice at least
        assert full_seen >= 2, (full_seen, log)
        assert "failed" not in log, log     # FULL in time: no write ever failed
    assert cycles(log) == (full_seen, full_seen), log
    assert lv.store.poll() is None
