# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests of darkdaq-store: the test plays darkdaqd with
python3-zmq (PUSH data and PULL acks bound on free loopback ports, the
protocol of daemon/storage_proto.h) and reads the run files back with
proto/darkdaq_reader.py.  Nothing sleeps: every wait is on an ACK, a file
or the process itself, with a generous bound that only catches hangs.
Run by tests/run.sh with PYTHONPATH=$BUILD/gen:proto and DARKDAQ_BUILD."""

import json
import os
import signal
import struct
import subprocess
import time

import pytest
import zmq

import darkdaq_pb2 as pb
from conftest import program, short_dir
from darkdaq_reader import RunFile, crc32c

DATA_MAGIC = 0x32534B44          # "DKS2"
CTL_MAGIC = 0x43534B44           # "DKSC"
HELLO, WELCOME, ACK, FULL, RESUME, NAK = 1, 2, 3, 4, 5, 6
SENDER = 7
BOUND_S = 30            # catches hangs only


def replace_config(path, text):
    """Writes a new configuration the way an operator's tools do before a
    SIGHUP: whole, by rename, so that the program never reads half a file."""
    tmp = path.with_name(path.name + ".new")
    tmp.write_text(text)
    os.replace(tmp, path)


# ---- records ------------------------------------------------------------------


def header(run, start=1_700_000_000_000_000_000):
    text = "[store test]\n"
    return pb.Record(run_header=pb.RunHeader(
        run=run, start_time_ns=start, config_text=text, config_hash="ab" * 32,
        software_version="test-daemon 1.0", sources=[0, 1])).SerializeToString()


def event(trigger, raw_bytes=40):
    return pb.Record(event=pb.Event(
        trigger=trigger, time_ticks=trigger * 10, sources=[0, 1],
        fragments=[pb.Fragment(source=0, good=True, raw=bytes([trigger & 0xFF]) * raw_bytes)]
    )).SerializeToString()


def other(kind, i):
    if kind == "late":
        return pb.Record(late=pb.Late(source=1, trigger=i, raw=b"L" * 12)).SerializeToString()
    if kind == "junk":
        return pb.Record(junk=pb.Junk(stream=0, offset=i, raw=b"J" * 8,
                                      reason="no header magic")).SerializeToString()
    return pb.Record(corrupt=pb.Corrupt(stream=1, offset=i, raw=b"C" * 20, source=3, trigger=i,
                                        reason="crc mismatch")).SerializeToString()


def trailer(counts, reason="stop", records=0):
    return pb.Record(run_trailer=pb.RunTrailer(
        end_time_ns=1_700_000_001_000_000_000, end_reason=reason, records_in_file=records,
        counts=[pb.Count(name=k, value=v) for k, v in counts.items()])).SerializeToString()


# ---- the daemon's side ----------------------------------------------------------

def ctl(kind, session, run=0, seq=0, sender=SENDER):
    return struct.pack("<IIIIIIQ", CTL_MAGIC, kind, session, run, sender, 0, seq)


class FakeDaemon:
    """Binds the storage ROUTER on an ipc:// socket in a short directory (as
    darkdaqd's default endpoint is) and plays the
    daemon's side of channel v2: a HELLO gets a session (WELCOME), records go
    to the session's connection only."""

    def __init__(self):
        self.ctx = zmq.Context()
        self.router = self.ctx.socket(zmq.ROUTER)
        self.router.setsockopt(zmq.LINGER, 0)
        # a full queue blocks the send instead of dropping the record, as
        # darkdaqd's window holds it
        self.router.setsockopt(zmq.ROUTER_MANDATORY, 1)
        self.router.bind("ipc://%s/storage" % short_dir())
        self.data_ep = self.router.getsockopt(zmq.LAST_ENDPOINT).decode()
        self.peer = None
        self.session = 0
        self.sessions = 0
        self.acked = {}         # run -> highest seq ACKed
        self.naks = []          # (run, seq) of every NAK
        self.kinds = []         # every message kind received, in order

    def send(self, run, seq, rec, session=None, sender=SENDER):
        self.send_raw(struct.pack("<IIIIQ", DATA_MAGIC, run,
                                  self.session if session is None else session, sender, seq) + rec)

    def send_raw(self, m):
        self.router.send_multipart([self.peer, m])

    def next_msg(self, timeout_s=BOUND_S):
        """The next store message as (kind, run, seq), or None at timeout."""
        if not self.router.poll(int(timeout_s * 1000)):
            return None
        peer, m = self.router.recv_multipart()
        assert len(m) == 32
        magic, kind, session, run, sender, reserved, seq = struct.unpack("<IIIIIIQ", m)
        assert magic == CTL_MAGIC and reserved == 0 and kind in (HELLO, ACK, FULL, RESUME, NAK)
        self.kinds.append(kind)
        if kind == HELLO:
            if peer != self.peer:
                self.peer = peer
                self.sessions += 1
                self.session = 0x5E550000 + self.sessions
            self.router.send_multipart([peer, ctl(WELCOME, self.session)])
        else:
            assert session == self.session and peer == self.peer and sender == SENDER, m
        if kind == ACK:
            self.acked[run] = max(self.acked.get(run, -1), seq)
        if kind == NAK:
            self.naks.append((run, seq))
        return kind, run, seq

    def wait_kind(self, kind):
        deadline = time.monotonic() + BOUND_S
        while time.monotonic() < deadline:
            m = self.next_msg(deadline - time.monotonic())
            if m and m[0] == kind:
                return m
        raise AssertionError("no message of kind %d from the store" % kind)

    def wait_ack(self, run, seq):
        deadline = time.monotonic() + BOUND_S
        while self.acked.get(run, -1) < seq:
            assert time.monotonic() < deadline, "no ACK of run %d seq %d (have %r)" % (
                run, seq, self.acked.get(run))
            self.next_msg(deadline - time.monotonic())

    def drain(self):
        while self.next_msg(0) is not None:
            pass

    def close(self):
        self.ctx.destroy(linger=0)


class Store:
    """darkdaq-store on a configuration in tmp; stderr to a log file."""

    def __init__(self, tmp, daemon, extra="", name="store"):
        self.dir = tmp / "runs"
        self.dir.mkdir(exist_ok=True)
        self.conf = tmp / (name + ".ini")
        self.conf.write_text("[store]\ndir = %s\ndata = %s\nmin_free_bytes = 0\n%s" % (
            self.dir, daemon.data_ep, extra))
        self.log_path = tmp / (name + ".log")
        self.log_file = open(self.log_path, "w+")
        self.p = subprocess.Popen([program("darkdaq-store"), "-c", str(self.conf)],
                                  stderr=self.log_file)

    def log(self):
        if not self.log_file.closed:
            self.log_file.flush()
        return self.log_path.read_text()

    def stop(self, sig=signal.SIGTERM):
        if self.p.poll() is None:
            self.p.send_signal(sig)
        rc = self.p.wait(timeout=BOUND_S)
        self.log_file.close()
        return rc


@pytest.fixture
def daemon():
    d = FakeDaemon()
    yield d
    d.close()


@pytest.fixture
def stores():
    started = []
    yield started
    for s in started:
        if s.p.poll() is None:
            s.p.kill()
            s.p.wait()
        if not s.log_file.closed:
            s.log_file.close()


def start(stores, tmp, daemon, extra="", name="store"):
    s = Store(tmp, daemon, extra, name)
    stores.append(s)
    daemon.wait_kind(HELLO)
    return s


# ---- reading the results --------------------------------------------------------

def frame_list(path):
    """(payload, sender, seq) of the whole frames of a run file (version 2:
    the file header, then sync, length, sender, seq, CRC-32C over all)."""
    data = open(path, "rb").read()
    assert data[:8] == b"DKRN\x02\0\0\0", "a run file version 2"
    pos, out = 8, []
    while pos + 24 <= len(data):
        assert data[pos:pos + 4] == b"DKRS"
        n, sender, seq, crc = struct.unpack_from("<IIQI", data, pos + 4)
        if pos + 24 + n > len(data):
            break
        assert crc32c(data[pos + 24:pos + 24 + n], crc32c(data[pos:pos + 20])) == crc
        out.append((data[pos + 24:pos + 24 + n], sender, seq))
        pos += 24 + n
    return out


def frames(path):
    """Payloads of the whole frames of a run file."""
    return [p for p, _, _ in frame_list(path)]


def records(path):
    return [pb.Record.FromString(f) for f in frames(path)]


def kinds_of(recs):
    k = {}
    for r in recs:
        w = r.WhichOneof("body")
        k[w] = k.get(w, 0) + 1
    return k


def counts(tr):
    return {c.name: c.value for c in tr.counts}


def run_files(d, run):
    return sorted(p for p in d.iterdir()
                  if p.name.startswith("run-%06d-" % run) and p.name.endswith(".dkr"))


def check_closed_file(path, seq_index, last):
    """A closed file: header first (file_sequence), trailer last with this
    file's counts, sidecar right.  Returns the records."""
    recs = records(path)
    assert RunFile(str(path), strict=False) is not None
    assert recs[0].WhichOneof("body") == "run_header"
    assert recs[0].run_header.file_sequence == seq_index
    tr = recs[-1].run_trailer
    assert recs[-1].WhichOneof("body") == "run_trailer"
    assert tr.records_in_file == len(recs)
    assert tr.continued == (not last)
    k = kinds_of(recs)
    c = counts(tr)
    for name, kind in (("events", "event"), ("late", "late"), ("junk", "junk"),
                       ("corrupt", "corrupt")):
        assert c.get(name, 0) == k.get(kind, 0), (name, c, k)
    side = json.loads(open(str(path) + ".json").read())
    data = open(path, "rb").read()
    assert side["file"] == path.name and side["sequence"] == seq_index
    assert side["run"] == recs[0].run_header.run
    assert side["bytes"] == len(data)
    assert side["crc32c"] == "%08x" % crc32c(data)
    assert side["counts"] == {"events": k.get("event", 0), "late": k.get("late", 0),
                              "junk": k.get("junk", 0), "corrupt": k.get("corrupt", 0),
                              "records": len(recs)}
    assert side["end_reason"] == tr.end_reason
    assert side["software_version"] == recs[0].run_header.software_version
    assert side["config_hash"] == recs[0].run_header.config_hash
    trig = [r.event.trigger for r in recs if r.WhichOneof("body") == "event"]
    if trig:
        assert side["first_trigger"] == trig[0] and side["last_trigger"] == trig[-1]
    assert not os.path.exists(str(path) + ".part")
    return recs


# ---- tests ----------------------------------------------------------------------

def test_run_becomes_one_closed_file_with_sidecar(tmp_path, daemon, stores):
    s = start(stores, tmp_path, daemon)
    run, sent = 12, [header(12)]
    kinds = ["late", "junk", "corrupt"]
    for i in range(1, 201):
        sent.append(event(i) if i % 10 else other(kinds[(i // 10) % 3], i))
    n_ev = sum(1 for i in range(1, 201) if i % 10)
    sent.append(trailer({"events": n_ev, "late": 7, "junk": 7, "corrupt": 6, "complete": n_ev},
                        records=len(sent) + 1))
    for seq, rec in enumerate(sent):
        daemon.send(run, seq, rec)
    daemon.wait_ack(run, len(sent) - 1)
    files = run_files(s.dir, run)
    assert [p.name for p in files] == ["run-000012-000.dkr"]
    recs = check_closed_file(files[0], 0, last=True)
    # packed records are written as they came, byte for byte
    assert frames(files[0])[1:-1] == sent[1:-1]
    tr = recs[-1].run_trailer
    assert tr.end_reason == "stop" and counts(tr)["complete"] == n_ev
    assert counts(tr)["events"] == n_ev and "run_events" not in counts(tr)
    assert "closed run-000012-000.dkr (stop)" in s.log()
    assert s.stop() == 0


def test_rotation_by_size(tmp_path, daemon, stores):
    s = start(stores, tmp_path, daemon, "max_file_bytes = 20000\n")
    run, n = 3, 200
    daemon.send(run, 0, header(run))
    for i in range(1, n + 1):
        daemon.send(run, i, event(i, raw_bytes=900))
    daemon.send(run, n + 1, trailer({"events": n}))
    daemon.wait_ack(run, n + 1)
    files = run_files(s.dir, run)
    assert len(files) >= 8
    seen = []
    for i, p in enumerate(files):
        assert p.name == "run-000003-%03d.dkr" % i
        assert p.stat().st_size <= 20000
        recs = check_closed_file(p, i, last=(i == len(files) - 1))
        seen += [r.event.trigger for r in recs if r.WhichOneof("body") == "event"]
        reason = recs[-1].run_trailer.end_reason
        assert reason == ("stop" if i == len(files) - 1 else "rotate")
    assert seen == list(range(1, n + 1))
    last = counts(records(files[-1])[-1].run_trailer)
    assert last["run_events"] == n          # the daemon's run total, kept
    assert s.stop() == 0


def test_sigterm_mid_run_closes_with_signal(tmp_path, daemon, stores):
    s = start(stores, tmp_path, daemon)
    daemon.send(9, 0, header(9))
    for i in range(1, 51):
        daemon.send(9, i, event(i))
    daemon.wait_ack(9, 50)
    assert s.stop(signal.SIGTERM) == 0
    files = run_files(s.dir, 9)
    assert len(files) == 1
    recs = check_closed_file(files[0], 0, last=True)
    tr = recs[-1].run_trailer
    assert tr.end_reason == "signal" and tr.records_in_file == 52
    assert counts(tr)["events"] == 50 and counts(tr)["closed_by_store"] == 1
    assert 'end_reason "signal"' in s.log()


def test_silence_closes_run_then_it_continues_in_a_new_file(tmp_path, daemon, stores):
    s = start(stores, tmp_path, daemon, "silence_close_ms = 300\n")
    daemon.send(4, 0, header(4))
    for i in range(1, 11):
        daemon.send(4, i, event(i))
    daemon.wait_ack(4, 10)
    first = s.dir / "run-000004-000.dkr"
    deadline = time.monotonic() + BOUND_S
    while not first.exists():       # the silence close ACKs again: wait on the socket
        assert time.monotonic() < deadline, s.log()
        daemon.next_msg(0.5)
    recs = check_closed_file(first, 0, last=True)
    assert recs[-1].run_trailer.end_reason == "silence"
    assert len(recs) == 12
    assert "silence" in s.log()
    # the daemon was only slow: the run goes on in file 001
    for i in range(11, 21):
        daemon.send(4, i, event(i))
    daemon.send(4, 21, trailer({"events": 20}))
    daemon.wait_ack(4, 21)
    recs2 = check_closed_file(s.dir / "run-000004-001.dkr", 1, last=True)
    assert recs2[0].run_header.start_time_ns == recs[0].run_header.start_time_ns
    assert [r.event.trigger for r in recs2[1:-1]] == list(range(11, 21))
    assert s.stop() == 0


def test_hello_then_resent_records_are_written_once(tmp_path, daemon, stores):
    s = start(stores, tmp_path, daemon)     # start() waits for the HELLO
    assert daemon.kinds[0] == HELLO
    daemon.send(5, 0, header(5))
    for i in range(1, 100):
        daemon.send(5, i, event(i))
    daemon.wait_ack(5, 99)
    for i in range(50, 150):                # what a daemon sends again after a HELLO
        daemon.send(5, i, event(i))
    daemon.send(5, 150, trailer({"events": 149}))
    daemon.wait_ack(5, 150)
    recs = check_closed_file(s.dir / "run-000005-000.dkr", 0, last=True)
    assert [r.event.trigger for r in recs[1:-1]] == list(range(1, 150))
    assert "skipped 50 re-sent records" in s.log()
    assert s.stop() == 0


def test_records_ahead_of_their_turn_are_dropped_and_asked_for_again(tmp_path, daemon, stores):
    s = start(stores, tmp_path, daemon)
    daemon.send(6, 0, header(6))
    for i in range(1, 11):
        daemon.send(6, i, event(i))
    daemon.wait_ack(6, 10)
    daemon.send(6, 15, event(15))           # 11..14 lost on the way
    hello = daemon.wait_kind(HELLO)         # within a second: the store asks again
    assert hello[0] == HELLO
    for i in range(11, 21):
        daemon.send(6, i, event(i))
    daemon.send(6, 21, trailer({"events": 20}))
    daemon.wait_ack(6, 21)
    recs = check_closed_file(s.dir / "run-000006-000.dkr", 0, last=True)
    assert [r.event.trigger for r in recs[1:-1]] == list(range(1, 21))
    assert s.stop() == 0


def test_sigkill_then_restart_keeps_every_record_once(tmp_path, daemon, stores):
    # ACKs rarely (the first at once, then every minute), so that the dead
    # store's file holds many records past its last ACK.  The header goes
    # alone and its ACK is awaited first: had the events gone with it, the
    # first ACK could cover however many of them the store took in one go.
    extra = "ack_interval_ms = 60000\n"
    s = start(stores, tmp_path, daemon, extra)
    run, n = 7, 2000
    daemon.send(run, 0, header(run))
    daemon.wait_ack(run, 0)
    for i in range(1, n):
        daemon.send(run, i, event(i, raw_bytes=4000))
    part = s.dir / "run-000007-000.dkr.part"
    deadline = time.monotonic() + BOUND_S
    while not part.exists() or part.stat().st_size < 1000 * 4000:
        assert time.monotonic() < deadline, "the store wrote too little"
    s.p.kill()
    s.p.wait(timeout=BOUND_S)
    daemon.drain()
    acked = daemon.acked[run]
    on_disk = RunFile(str(part), strict=False)
    whole = sum(1 for _ in on_disk)
    assert whole > acked + 1 and not on_disk.complete

    s2 = start(stores, tmp_path, daemon, extra, name="store2")     # HELLO again
    log = s2.log()
    assert "restart recovery" in log and "run-000007-000.dkr.part" in log
    assert "whole records" in log and "without a trailer" in log
    assert not part.exists()
    dead = s2.dir / "run-000007-000.dkr"
    rf = RunFile(str(dead), strict=False)
    assert sum(1 for _ in rf) == whole and not rf.complete
    dump = subprocess.run([program("darkdaq-dump"), str(dead)], capture_output=True, text=True,
                          timeout=BOUND_S)
    assert "no run trailer" in dump.stderr or "cut" in dump.stderr, dump.stderr
    side = json.loads(open(str(dead) + ".json").read())
    assert side["end_reason"] == "crash" and side["last_seq"] == whole - 1
    # recovery took the seqs from the frames themselves: no side file
    assert [(snd, seq) for _, snd, seq in frame_list(dead)] == \
        [(SENDER, i) for i in range(whole)]
    assert not list(s2.dir.glob("*.part.seq"))
    assert side["crc32c"] == "%08x" % crc32c(dead.read_bytes())

    for i in range(acked + 1, n):           # the daemon sends again after the last ACK
        daemon.send(run, i, event(i, raw_bytes=4000))
    daemon.send(run, n, trailer({"events": n - 1}))
    daemon.wait_ack(run, n)
    files = run_files(s2.dir, run)
    assert [p.name for p in files] == ["run-000007-000.dkr", "run-000007-001.dkr"]
    recs = check_closed_file(files[1], 1, last=True)
    triggers = [r.event.trigger for f in files for r in records(f)
                if r.WhichOneof("body") == "event"]
    assert sorted(triggers) == list(range(1, n)), "every record on disk exactly once"
    assert recs[0].run_header.software_version == "test-daemon 1.0"
    assert "skipped" in s2.log()
    assert s2.stop() == 0


def test_records_without_a_run_header_open_no_file(tmp_path, daemon, stores):
    s = start(stores, tmp_path, daemon)
    for i in range(10, 20):
        daemon.send(8, i, event(i))
    daemon.send(8, 20, trailer({"events": 10}))
    wait_log(s, "without a run header")
    assert list(s.dir.iterdir()) == []
    # the header, sent first in the next session, opens the file
    daemon.send(8, 0, header(8))
    for i in range(1, 20):
        daemon.send(8, i, event(i))
    daemon.send(8, 20, trailer({"events": 19}))
    daemon.wait_ack(8, 20)
    recs = check_closed_file(s.dir / "run-000008-000.dkr", 0, last=True)
    assert [r.event.trigger for r in recs[1:-1]] == list(range(1, 20))
    assert s.stop() == 0


def test_garbage_record_is_refused_kept_and_nakked(tmp_path, daemon, stores):
    s = start(stores, tmp_path, daemon)
    daemon.send(3, 0, header(3))
    garbage = b"\xff\xff\xff\xff not a record"
    for i in range(1, 21):
        daemon.send(3, i, garbage if i == 7 else event(i))
    daemon.send(3, 21, trailer({"events": 19}))
    daemon.wait_ack(3, 21)
    assert daemon.naks == [(3, 7)]
    rej = (s.dir / "run-000003.rejects").read_bytes()
    magic, length, sender, _, seq = struct.unpack_from("<IIIIQ", rej)
    assert (magic, length, sender, seq) == (0x4A524B44, len(garbage), SENDER, 7)
    assert rej[24:] == garbage
    triggers = []
    for f in sorted(s.dir.glob("run-000003-*.dkr")):
        triggers += [r.event.trigger for r in RunFile(str(f)) if r.WhichOneof("body") == "event"]
    assert triggers == [i for i in range(1, 21) if i != 7]
    # garbage prefixes and records of another session open no file
    for run in range(100, 150):
        daemon.send_raw(struct.pack("<IIIIQ", DATA_MAGIC, run, daemon.session, SENDER, 0) +
                        b"\x0a\x05garbage")
        daemon.send(run + 100, 0, header(run + 100), session=daemon.session ^ 1)
        daemon.send_raw(b"DKS2" + bytes(run % 30))
    daemon.send(9, 0, header(9))            # taken in order: all of the above came first
    daemon.wait_ack(9, 0)
    assert s.stop() == 0
    names = sorted(p.name for p in s.dir.iterdir())
    assert not [n for n in names if n.startswith("run-0001") or n.startswith("run-0002")], names
    log = s.log()
    assert "30 bad messages, 70 of another session" in log, log
    assert "1 refused records, 50 without a run header" in log, log


def test_disk_below_floor_sends_full_and_writes_nothing(tmp_path, daemon, stores):
    s = start(stores, tmp_path, daemon, "min_free_bytes = %d\n" % (1 << 62))
    daemon.wait_kind(FULL)
    daemon.send(2, 0, header(2))
    for i in range(1, 6):
        daemon.send(2, i, event(i))
    assert daemon.next_msg(0.5) is None     # nothing ACKed
    assert s.stop() == 0
    assert list(s.dir.iterdir()) == []
    log = s.log()
    assert "below min_free_bytes" in log and "FULL" in log


def _run_conf(tmp_path, text, args=None):
    conf = tmp_path / "bad.ini"
    conf.write_text(text)
    return subprocess.run([program("darkdaq-store")] + (args or ["-c", str(conf)]),
                          capture_output=True, text=True, timeout=BOUND_S)


def test_bad_configuration_exits_2_with_file_and_line(tmp_path):
    p = _run_conf(tmp_path, "[store]\ndir = /tmp\nfrobnicate = 1\n")
    assert p.returncode == 2 and "bad.ini:3:" in p.stderr and "frobnicate" in p.stderr
    assert "unknown key" in p.stderr
    p = _run_conf(tmp_path, "[store]\ndir = /tmp\nmax_file_bytes = lots\n")
    assert p.returncode == 2 and "bad.ini:3:" in p.stderr and "max_file_bytes" in p.stderr
    p = _run_conf(tmp_path, "[store]\nack_interval_ms = -5\ndir = /tmp\n")
    assert p.returncode == 2 and "bad.ini:2:" in p.stderr
    p = _run_conf(tmp_path, "[stor]\ndir = /tmp\n")
    assert p.returncode == 2 and "bad.ini:2:" in p.stderr and "unknown section" in p.stderr
    p = _run_conf(tmp_path, "[store]\ndata = tcp://127.0.0.1:1\n")
    assert p.returncode == 2 and '"dir"' in p.stderr
    p = _run_conf(tmp_path, "", ["-c", str(tmp_path / "missing.ini")])
    assert p.returncode == 2 and "missing.ini" in p.stderr
    p = _run_conf(tmp_path, "", [])
    assert p.returncode == 2
    p = _run_conf(tmp_path, "[store]\ndir = %s\ndata = tcp://127.0.0.1:notaport\ninsecure = yes\n"
                  % tmp_path)
    assert p.returncode == 1 and "notaport" in p.stderr
    p = _run_conf(tmp_path, "[store]\ndir = %s\n" % (tmp_path / "absent"))
    assert p.returncode == 1 and "absent" in p.stderr


def test_help_lists_every_key_with_its_default():
    p = subprocess.run([program("darkdaq-store"), "--help"], capture_output=True, text=True,
                       timeout=BOUND_S)
    assert p.returncode == 0
    for line in ("data = ipc:///run/darkdaq/storage", "dir =", "insecure = no",
                 "max_file_bytes = 1073741824", "max_file_seconds = 3600",
                 "min_free_bytes = 1073741824", "resume_margin_bytes = 67108864",
                 "silence_close_ms = 30000",
                 "ack_interval_ms = 100"):
        assert line in p.stdout, line
    p = subprocess.run([program("darkdaq-store"), "--version"], capture_output=True, text=True,
                       timeout=BOUND_S)
    assert p.returncode == 0 and p.stdout.startswith("darkdaq-store ")


# ---- under systemd: sd_notify, SIGHUP ----------------------------------------

WATCHDOG_USEC = 200000


def wait_log(s, text, bound_s=BOUND_S):
    """Waits for text in the store's log, between looks waiting on the
    store's exit (a store that dies fails at once)."""
    deadline = time.monotonic() + bound_s
    while text not in s.log():
        assert time.monotonic() < deadline, "no %r in the log:\n%s" % (text, s.log())
        try:
            rc = s.p.wait(timeout=0.05)
            pytest.fail("the store exited %s waiting for %r\n%s" % (rc, text, s.log()))
        except subprocess.TimeoutExpired:
            pass
    return s.log()


def test_sd_notify_ready_status_watchdog_stopping(tmp_path, daemon, stores):
    import socket
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    sock.bind(path)
    env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC=str(WATCHDOG_USEC))

    def receive(bound_s):
        sock.settimeout(bound_s)
        try:
            data, anc, _, _ = sock.recvmsg(4096, socket.CMSG_SPACE(struct.calcsize("iII")))
        except socket.timeout:
            return None
        pid = None
        for level, kind, cdata in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = struct.unpack("iII", cdata[:struct.calcsize("iII")])[0]
        return time.monotonic(), pid, data.decode()

    try:
        s = Store(tmp_path, daemon)
        stores.append(s)
        s.p.kill()                      # started without the socket: start again with it
        s.p.wait()
        s.log_file.close()
        s.log_file = open(s.log_path, "w+")
        s.p = subprocess.Popen([program("darkdaq-store"), "-c", str(s.conf)],
                               stderr=s.log_file, env=env)
        first = receive(BOUND_S)
        assert first is not None, "no notification\n" + s.log()
        assert first[1] == s.p.pid and first[2] == "READY=1", first
        daemon.wait_kind(HELLO)         # READY=1 came once its sockets were up
        daemon.send(5, 0, header(5))
        for i in range(1, 31):
            daemon.send(5, i, event(i))
        daemon.wait_ack(5, 30)
        msgs = []
        t0 = time.monotonic()
        while time.monotonic() - t0 < 2.5:
            m = receive(5)
            assert m is not None, "the store went quiet\n" + s.log()
            msgs.append(m)
        assert all(pid == s.p.pid for _, pid, _ in msgs)
        beats = [t for t, _, text in msgs if text == "WATCHDOG=1"]
        assert len(beats) >= 10, len(beats)
        assert max(b - a for a, b in zip(beats, beats[1:])) < WATCHDOG_USEC / 1e6
        statuses = [text for _, _, text in msgs if text.startswith("STATUS=")]
        assert any(x.startswith("STATUS=1 run open, 30 records written, ") and
                   " MiB free in %s" % s.dir in x for x in statuses), statuses
        s.p.send_signal(signal.SIGTERM)
        seen = []
        while "STOPPING=1" not in seen:
            m = receive(BOUND_S)
            assert m is not None, "no STOPPING=1 after SIGTERM: %s\n%s" % (seen, s.log())
            seen.append(m[2])
        assert s.stop() == 0
    finally:
        sock.close()


def test_sighup_reloads_what_it_can_and_the_runs_go_on(tmp_path, daemon, stores):
    s = start(stores, tmp_path, daemon, "max_file_bytes = 1000000\n")
    daemon.send(6, 0, header(6))
    for i in range(1, 51):
        daemon.send(6, i, event(i, raw_bytes=900))
    daemon.wait_ack(6, 50)
    base = s.conf.read_text().replace("max_file_bytes = 1000000\n", "")
    replace_config(s.conf, base + "max_file_bytes = 20000\ndir = %s\n" %
                   (tmp_path / "elsewhere"))
    s.p.send_signal(signal.SIGHUP)
    log = wait_log(s, "SIGHUP: reloaded")
    assert "max_file_bytes 1000000 -> 20000" in log
    assert "needs a restart, not applied: dir" in log
    assert "sha256 " in log
    # run 6's file keeps the limits it opened with: no rotation
    for i in range(51, 101):
        daemon.send(6, i, event(i, raw_bytes=900))
    daemon.wait_ack(6, 100)
    # silence_close_ms applies at once: run 6 is closed once it is quiet (a
    # second reload, so that no pause of this test's own can close it early)
    replace_config(s.conf, base + "max_file_bytes = 20000\nsilence_close_ms = 300\n"
                   "dir = %s\n" % (tmp_path / "elsewhere"))
    s.p.send_signal(signal.SIGHUP)
    wait_log(s, "silence_close_ms 30000 -> 300")
    first = s.dir / "run-000006-000.dkr"
    deadline = time.monotonic() + BOUND_S
    while not first.exists():
        assert time.monotonic() < deadline, s.log()
        daemon.next_msg(0.5)
    recs = check_closed_file(first, 0, last=True)
    assert len(recs) == 102 and recs[-1].run_trailer.end_reason == "silence"
    # a run opened after the reload rotates at the new size
    daemon.send(7, 0, header(7))
    for i in range(1, 101):
        daemon.send(7, i, event(i, raw_bytes=900))
    daemon.send(7, 101, trailer({"events": 100}))
    daemon.wait_ack(7, 101)
    files = run_files(s.dir, 7)
    assert len(files) >= 4 and all(p.stat().st_size <= 20000 for p in files)
    # a file that cannot be used changes nothing and stops nothing
    replace_config(s.conf, "[store]\nno_such_key = 1\n")
    s.p.send_signal(signal.SIGHUP)
    log = wait_log(s, "stays as it was")
    assert "no_such_key" in log
    daemon.send(8, 0, header(8))
    daemon.send(8, 1, event(1))
    daemon.send(8, 2, trailer({"events": 1}))
    daemon.wait_ack(8, 2)
    assert s.stop() == 0
