# SPDX-License-Identifier: Apache-2.0
"""The spool, end to end with real processes: darkdaqd exits (SIGTERM)
while the store is stopped or gone, writes what the store has not
acknowledged to STATE_DIR/spool, and after a restart of the daemon and the
store every record of the run is on disk once.  A damaged spool is reported
with file and offset, kept as it was, and its good frames are sent.  A
spool that cannot be written makes the exit status 1; run numbers go on
after a spooled run, which cannot be started again while it is held.  The
spool is parsed here by the format of proto/storage-channel.md ("The
spool"), independently of the daemon's reader.  No test sleeps: each waits
on its condition with a generous bound."""
import os
import re
import signal
import struct
import sys

import pytest

from conftest import program  # noqa: F401  (the programs must be built)
from test_live import live_factory, sim_sources  # noqa: F401  (the fixture)

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "proto"))
from darkdaq_reader import RunFile, crc32c  # noqa: E402
import darkdaq_pb2 as pb  # noqa: E402

SPOOL_MAGIC = 0x50534B44        # "DKSP"
DATA_MAGIC = 0x32534B44         # "DKS2"
RUN_HEADER, RECORD = 1, 2
SENDER = 1                      # the default sender_id


def read_spool(path):
    """The frames of a spool file as dicts (offset, size, kind, run, seq,
    record); every check of the format asserted on the way."""
    b = path.read_bytes()
    magic, version, sender, crc = struct.unpack_from("<IIII", b, 0)
    assert (magic, version, sender) == (SPOOL_MAGIC, 1, SENDER)
    assert crc == crc32c(b[:12])
    frames, off = [], 16
    while off < len(b):
        n, crc = struct.unpack_from("<II", b, off)
        body = b[off + 8:off + 8 + n]
        assert len(body) == n and crc32c(body) == crc, "frame at %d" % off
        kind, dmagic, run, session, sender, seq = struct.unpack_from("<IIIIIQ", body, 0)
        assert kind in (RUN_HEADER, RECORD) and dmagic == DATA_MAGIC
        assert session == 0 and sender == SENDER
        frames.append({"offset": off, "size": 8 + n, "kind": kind, "run": run, "seq": seq,
                       "record": pb.Record.FromString(body[28:])})
        off += 8 + n
    return frames


def run_records(lv, run):
    """Every record of run over its files (.part ones too, each read to its
    last whole frame): event triggers, header count, trailers' end reasons,
    and the other kinds counted."""
    triggers, headers, reasons, other = [], 0, [], {}
    files = sorted(lv.store_dir.glob("run-%06d-*.dkr*" % run))
    for f in files:
        if f.name.endswith((".json", ".seq")):
            continue
        for rec in RunFile(str(f), strict=False):
            body = rec.WhichOneof("body")
            if body == "event":
                triggers.append(rec.event.trigger)
            elif body == "run_header":
                assert rec.run_header.run == run
                headers += 1
            elif body == "run_trailer":
                reasons.append(rec.run_trailer.end_reason)
            else:
                other[body] = other.get(body, 0) + 1
    return triggers, headers, reasons, other


def stopped_line(log, run):
    m = re.search(r"run %d stopped \((\w+)\): (\d+) events, (\d+) records; (.*)" % run, log)
    assert m, log
    return m.group(1), int(m.group(2)), int(m.group(3)), m.group(4)


def spooled_line(log):
    m = re.search(r"spooled (\d+) records? of (\d+) runs? \((\d+) bytes\) that the store has "
                  r"not acknowledged to (\S+) \(fsync'd\)", log)
    assert m, log
    return int(m.group(1)), int(m.group(2)), int(m.group(3)), m.group(4)


def status_when_up(lv):
    def up():
        st = lv.ctl("status", check=False, timeout_ms=2000)
        return st if isinstance(st, dict) else None
    return lv.wait_for(up, "the restarted daemon to answer")


# the store SIGSTOPped and then let go on (SIGCONT) or restarted; or killed
@pytest.mark.parametrize("store", ["stopped", "stopped-restarted", "gone"])
def test_sigterm_without_a_store_spools_and_a_restart_stores_every_record_once(
        tmp_path, live_factory, store):
    lv = live_factory(sim_sources(0, 31, rate=2000, events_key=False),
                      daemon_extra="stop_timeout_ms = 1000\n")
    lv.ctl("configure")
    lv.ctl("start", "--run", "6")
    lv.wait_for(lambda: lv.status()["storage"]["acked"] > 200, "the store to ack some")
    if store.startswith("stopped"):
        os.kill(lv.store.pid, signal.SIGSTOP)
    else:
        lv.store.kill()
        lv.store.wait()
    base = lv.status()["builder"]["events"]
    lv.wait_for(lambda: lv.status()["builder"]["events"] > base + 2000,
                "records to pile up in the daemon while the store is away")
    held = lv.status()["storage"]["held_records"]
    assert held > 2000
    lv.d.send_signal(signal.SIGTERM)
    assert lv.d.wait(timeout=60) == 0, lv.daemon_log()
    log = lv.daemon_log()
    reason, events, records, confirm = stopped_line(log, 6)
    assert reason == "signal" and "did NOT confirm" in confirm
    n_spooled, runs, size, path = spooled_line(log)
    spool = tmp_path / "state" / "spool"
    assert path == str(spool) and spool.stat().st_size == size
    assert not (tmp_path / "state" / "spool.tmp").exists()
    assert runs == 1 and n_spooled > held      # the trailer and the rest came after
    frames = read_spool(spool)
    recs = [f for f in frames if f["kind"] == RECORD]
    assert len(recs) == n_spooled
    assert frames[0]["kind"] == RUN_HEADER and frames[0]["run"] == 6 and frames[0]["seq"] == 0
    assert frames[0]["record"].WhichOneof("body") == "run_header"
    # the records not yet acknowledged, in order: consecutive seqs up to the trailer
    seqs = [f["seq"] for f in recs]
    assert seqs == list(range(seqs[0], records))
    assert recs[-1]["record"].WhichOneof("body") == "run_trailer"

    # the daemon comes back first, the store still away: it holds the spool
    lv.log.write("---- restart ----\n")
    lv.log.flush()
    lv.start_daemon()
    st = status_when_up(lv)
    assert st["storage"]["spool_loaded"] == n_spooled
    assert st["storage"]["spooled_records"] == n_spooled
    assert st["storage"]["held_records"] == n_spooled
    assert "%d records of 1 run (%d bytes) held from the last exit" % (n_spooled, size) in \
        lv.daemon_log()
    # run 6 is still held: a new run 6 would collide with it in the store
    lv.ctl("configure")
    p = lv.ctl("start", "--run", "6", "--force", json_out=False, check=False)
    assert p.returncode == 1 and "still held" in p.stderr, (p.stdout, p.stderr)
    assert lv.status()["state"] == "configured"
    # a new run while the spool is held: its number comes after the spooled one
    r = lv.ctl("start")
    assert r["run"] == 7, r
    lv.wait_for(lambda: lv.status()["builder"].get("events", 0) > 300, "run 7 to flow")

    if store == "stopped":
        os.kill(lv.store.pid, signal.SIGCONT)
    else:
        if store == "stopped-restarted":
            lv.store.kill()             # as stopped: SIGKILL, no trailer, a .part left
            lv.store.wait()
        lv.start_store()
    lv.wait_for(lambda: lv.status()["storage"]["spooled_records"] == 0,
                "the store to acknowledge the spooled records", bound_s=120)
    assert not spool.exists()
    assert "the store acknowledged all %d records from the spool" % n_spooled in lv.daemon_log()
    r = lv.ctl("stop")
    assert r["store_confirmed"] is True, r

    triggers, headers, reasons, other = run_records(lv, 6)
    assert sorted(triggers) == list(range(1, events + 1))     # every trigger exactly once
    assert headers >= 1 and reasons and reasons[-1] == "signal"
    assert other == {}
    t7, _, reasons7, _ = run_records(lv, 7)
    assert sorted(t7) == list(range(1, len(t7) + 1)) and len(t7) > 300
    assert reasons7[-1] == "stop"
    # nothing held, nothing spooled at the next exit
    lv.d.send_signal(signal.SIGTERM)
    assert lv.d.wait(timeout=60) == 0, lv.daemon_log()
    assert not spool.exists()


def test_a_damaged_spool_is_reported_kept_and_its_good_frames_sent(tmp_path, live_factory):
    lv = live_factory(sim_sources(0, 32, rate=1000, events_key=False),
                      daemon_extra="stop_timeout_ms = 300\n")
    lv.store.kill()                       # no store at all until the end
    lv.store.wait()
    lv.ctl("configure")
    lv.ctl("start", "--run", "1")
    lv.wait_for(lambda: lv.status()["builder"].get("events", 0) > 300, "run 1 to flow")
    r = lv.ctl("stop")
    assert r["store_confirmed"] is False
    lv.ctl("start", "--run", "2")
    lv.wait_for(lambda: lv.status()["builder"].get("events", 0) > 300, "run 2 to flow")
    lv.d.send_signal(signal.SIGTERM)
    assert lv.d.wait(timeout=60) == 0, lv.daemon_log()
    spool = tmp_path / "state" / "spool"
    frames = read_spool(spool)
    assert [(f["kind"], f["run"]) for f in frames if f["kind"] == RUN_HEADER] == \
        [(RUN_HEADER, 1), (RUN_HEADER, 2)]
    run1 = [f for f in frames if f["kind"] == RECORD and f["run"] == 1]
    run2 = [f for f in frames if f["kind"] == RECORD and f["run"] == 2]
    assert run1[0]["seq"] == 0 and run2[0]["seq"] == 0     # nothing was ever acknowledged

    # one flipped byte in the record of a middle frame of run 1
    bad = run1[len(run1) // 2]
    data = bytearray(spool.read_bytes())
    data[bad["offset"] + bad["size"] - 3] ^= 0x40
    spool.write_bytes(bytes(data))

    lv.log.write("---- restart ----\n")
    lv.log.flush()
    lv.start_daemon()
    st = status_when_up(lv)
    log = lv.daemon_log().split("---- restart ----")[1]
    assert "spool %s: damaged at offset %d: CRC mismatch" % (spool, bad["offset"]) in log, log
    after = [f for f in run1 if f["seq"] > bad["seq"]]
    assert ("spool %s: run 1: %d frame(s), seq %d..%d from offset %d, not sent: a record "
            "before it in its run is lost" % (spool, len(after), after[0]["seq"],
                                               after[-1]["seq"], after[0]["offset"])) in log, log
    kept = tmp_path / "state" / "spool.kept.1"
    assert "kept as %s" % kept in log
    assert kept.read_bytes() == bytes(data)
    good = [f for f in run1 if f["seq"] < bad["seq"]] + run2
    assert st["storage"]["spooled_records"] == len(good)

    lv.start_store()
    lv.wait_for(lambda: lv.status()["storage"]["spooled_records"] == 0,
                "the store to acknowledge the good frames", bound_s=120)
    assert not spool.exists() and kept.exists()
    lv.d.send_signal(signal.SIGTERM)
    assert lv.d.wait(timeout=60) == 0, lv.daemon_log()
    lv.store.send_signal(signal.SIGTERM)
    lv.store.wait(timeout=60)

    def events_of(fs):
        return sorted(f["record"].event.trigger for f in fs
                      if f["record"].WhichOneof("body") == "event")
    t1, h1, _, _ = run_records(lv, 1)
    assert sorted(t1) == events_of(f for f in run1 if f["seq"] < bad["seq"]) and h1 >= 1
    t2, h2, reasons2, _ = run_records(lv, 2)
    assert sorted(t2) == events_of(run2) and h2 >= 1
    assert reasons2[-1] == "signal"


def test_sigterm_exits_1_naming_the_file_when_the_spool_cannot_be_written(
        tmp_path, live_factory):
    lv = live_factory(sim_sources(0, 33, rate=1000, events_key=False),
                      daemon_extra="stop_timeout_ms = 300\n")
    lv.store.kill()
    lv.store.wait()
    lv.ctl("configure")
    lv.ctl("start", "--run", "3")
    lv.wait_for(lambda: lv.status()["builder"].get("events", 0) > 100, "run 3 to flow")
    blocker = tmp_path / "state" / "spool.tmp"
    blocker.mkdir()                     # the temporary file cannot be created
    lv.d.send_signal(signal.SIGTERM)
    assert lv.d.wait(timeout=60) == 1, lv.daemon_log()
    log = lv.daemon_log()
    m = re.search(r"cannot spool the (\d+) records the store has not acknowledged: (\S+): "
                  r"cannot create it: Is a directory; they are lost", log)
    assert m and int(m.group(1)) > 100 and m.group(2) == str(blocker), log
    assert not (tmp_path / "state" / "spool").exists()


def test_start_goes_on_after_a_spooled_run_when_last_run_is_older(tmp_path, live_factory):
    lv = live_factory(sim_sources(0, 34, rate=1000, events_key=False),
                      daemon_extra="stop_timeout_ms = 300\n")
    lv.store.kill()
    lv.store.wait()
    lv.ctl("configure")
    lv.ctl("start", "--run", "5")
    lv.wait_for(lambda: lv.status()["builder"].get("events", 0) > 50, "run 5 to flow")
    lv.d.send_signal(signal.SIGTERM)
    assert lv.d.wait(timeout=60) == 0, lv.daemon_log()
    state = tmp_path / "state"
    assert (state / "spool").exists()
    (state / "last_run").write_text("2\n")      # older than the spool (restored from a backup)
    lv.start_daemon()
    status_when_up(lv)
    assert "spool: it holds run 5, after the last run in %s; start goes on from there" % (
        state / "last_run") in lv.daemon_log()
    lv.ctl("configure")
    p = lv.ctl("start", "--run", "5", "--force", json_out=False, check=False)
    assert p.returncode == 1 and "records of run 5 are still held" in p.stderr, p.stderr
    r = lv.ctl("start")
    assert r["run"] == 6, r
