# SPDX-License-Identifier: Apache-2.0
"""darkdaqd on two USB boards, end to end, as the shift crew meets them.

tests/usb/usb_board_mock (a process of its own, under umockdev-wrapper)
plays boards 1209:0001 with serial numbers DK-A and DK-B, each sending its
board's stream of a two-board system written by darkdaq-sim; the real
darkdaqd runs with umockdev's preload library and the mock's testbed in its
environment and reads them through drivers/usb.c; the real darkdaq-store
writes the run.  Shown here: every trigger once and equal to darkdaqd
--replay of the same streams; BUSY from a paused store at both boards and
cleared; board 1 unplugged mid-fragment and back about 2 s later (the cut
fragment junk, the events in between incomplete naming board 1, RUN and
BUSY sent again, the log, status, /metrics and darkdaq-mon); a board with
the wrong serial number not taken; a board absent at configure reported and
taken when it appears.

No test sleeps to synchronise: each waits on a state (a counter in status,
a request the mock recorded, a line in the log) with a bound that only
catches hangs.  Every test sets build_timeout_ms far beyond any wait, so
that events are decided by the data alone (every source moved past them),
never by how fast a thread was scheduled (under ASan on a busy machine the
default 500 ms did decide some by timeout).  Run by make check-usb
(tests/usb/run.sh); DARKDAQ_USB_TRIGGERS sets the size of the long run
(default 50000)."""
import json
import os
import select
import signal
import struct
import subprocess
import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import BUILD, program
from test_live import Live, free_ports
from test_mon import Mon

TRIGGERS = int(os.environ.get("DARKDAQ_USB_TRIGGERS", "50000"))
SEED = 25
SERIALS = ["DK-A", "DK-B"]
RUN, BUSY = 1, 2                        # the boards' vendor requests (bRequest)
# events decided by the data alone: no timeout fires within any test's bounds
DATA_DECIDES = "[builder]\nsources = 0,1\nbuild_timeout_ms = 600000\n"
BOUND_S = 300                           # a long run's waits, under ASan on a busy machine


def usb_sources():
    return "".join("[source.board%d]\ndriver = usb\nvid = 1209\npid = 0001\nserial = %s\n"
                   % (b, s) for b, s in enumerate(SERIALS))


class Streams:
    """darkdaq-sim's two board streams and where each trigger's fragment
    starts: start(b, t) is the offset of trigger t (1..n) in board b's
    stream, end(b, t) the offset just after it."""

    def __init__(self, out, n):
        subprocess.run([program("darkdaq-sim"), "--boards", "2", "-n", str(n), "--seed",
                        str(SEED), "-o", str(out)], check=True, capture_output=True)
        self.path = [out / ("board-%d.raw" % b) for b in (0, 1)]
        self.data = [p.read_bytes() for p in self.path]
        self.starts = []
        for b in (0, 1):
            d, o, starts = self.data[b], 0, []
            while o < len(d):
                trigger, payload = struct.unpack_from("<II", d, o + 8)
                assert trigger == len(starts) + 1   # no faults: trigger t is fragment t
                starts.append(o)
                o += 32 + payload + 8
            starts.append(o)
            assert len(starts) == n + 1
            self.starts.append(starts)

    def start(self, b, t):
        return self.starts[b][t - 1]

    def end(self, b, t):
        return self.starts[b][t]

    def piece(self, out, b, first, last, cut=None):
        """A file of board b's fragments first..last (up to byte cut)."""
        out.write_bytes(self.data[b][self.start(b, first):cut or self.end(b, last)])
        return out


@pytest.fixture(scope="module")
def streams(tmp_path_factory):
    return Streams(tmp_path_factory.mktemp("sim"), TRIGGERS)


class Mock:
    """usb_board_mock: one command line in, one answer line out."""

    def __init__(self, tmp):
        self.log = open(tmp / "mock.log", "w+")
        self.p = subprocess.Popen(["umockdev-wrapper", str(BUILD / "tests" / "usb" /
                                                         "usb_board_mock")],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=self.log, text=True)
        line = self._line()
        assert line.startswith("ready "), line + self.text()
        self.dir = line.split(" ", 1)[1].strip()

    def _line(self):
        ready, _, _ = select.select([self.p.stdout], [], [], 60)
        assert ready, "usb_board_mock did not answer within 60 s\n" + self.text()
        return self.p.stdout.readline()

    def text(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def cmd(self, *words):
        self.p.stdin.write(" ".join(str(w) for w in words) + "\n")
        self.p.stdin.flush()
        line = self._line()
        assert line and not line.startswith("error"), (words, line, self.text())
        return line.strip()

    def status(self, b):
        return json.loads(self.cmd("status", b))

    def last(self, b, request, gen=None):
        """wValue of the last request board b saw (on plug gen), or None."""
        v = None
        for g, r, value in self.status(b)["requests"]:
            if r == request and (gen is None or g == gen):
                v = value
        return v

    def env(self):
        """What darkdaqd needs to see these boards (as umockdev-wrapper does it)."""
        pre = os.environ.get("LD_PRELOAD", "")
        return dict(os.environ, UMOCKDEV_DIR=self.dir,
                    LD_PRELOAD="libumockdev-preload.so.0" + (":" + pre if pre else ""))

    def close(self):
        if self.p.poll() is None:
            self.p.stdin.write("quit\n")
            self.p.stdin.close()
            try:
                self.p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()
        return self.p.returncode


class UsbLive(Live):
    """test_live's daemon and store, the daemon seeing the mock's boards."""

    def __init__(self, tmp, mock, sources, **k):
        self.mock = mock
        self.exit_status = None
        super().__init__(tmp, sources, **k)

    def start_daemon(self):
        self.d = subprocess.Popen([program("darkdaqd"), "-c", str(self.conf)], stderr=self.log,
                                  stdout=subprocess.DEVNULL, env=self.mock.env())

    def close(self):
        if self.store.poll() is None:
            os.kill(self.store.pid, signal.SIGCONT)     # a test that failed may leave it stopped
        log = self.daemon_log()
        super().close()
        self.exit_status = self.d.returncode
        return log

    def source(self, b):
        return self.status()["sources"][b]

    def store_files(self, run):
        return sorted(self.store_dir.glob("run-%06d-*.dkr" % run))


@pytest.fixture
def rig(tmp_path, streams):
    """make(sources, plugged, **Live options): the mock with boards 0 and 1
    added (those in plugged plugged), then darkdaqd and the store.  At the
    end the daemon must exit 0 (under ASan: no leak, no error)."""
    made = []

    def make(sources, plugged=(0, 1), **k):
        mock = Mock(tmp_path)
        for b in (0, 1):
            mock.cmd("add", b, SERIALS[b], streams.path[b])
        for b in plugged:
            mock.cmd("plug", b)
        lv = UsbLive(tmp_path, mock, sources, **k)
        made.append((mock, lv))
        return mock, lv
    yield make
    for mock, lv in made:
        log = lv.close()
        mock.close()
        assert lv.exit_status == 0, "darkdaqd exited %s\n%s" % (lv.exit_status, log)


def dump(paths):
    """darkdaq-dump --json of the files as records, wall-clock times masked
    (and the trailer's end_reason: "stop" live, "end of input" replayed)."""
    p = subprocess.run([program("darkdaq-dump"), "--json"] + [str(x) for x in paths],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    recs = [json.loads(line) for line in p.stdout.splitlines()]
    for r in recs:
        r.pop("start_time_ns", None)
        r.pop("end_time_ns", None)
        if r["type"] == "run_trailer":
            r.pop("end_reason")
    return recs


def assert_equal_replay(lv, run, files, tmp):
    """The store's files of the run hold what darkdaqd --replay makes of the
    board streams: the same events in the same order, the same other records."""
    ref = tmp / ("replay-%d.dkr" % run)
    p = subprocess.run([program("darkdaqd"), "--replay"] + [str(f) for f in files] +
                       ["-o", str(ref), "--run", str(run), "-c", str(lv.conf)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    live, want = dump(lv.store_files(run)), dump([ref])
    events = [r for r in live if r["type"] == "event"]
    assert events == [r for r in want if r["type"] == "event"]
    key = lambda r: json.dumps(r, sort_keys=True)       # noqa: E731
    assert sorted(map(key, (r for r in live if r["type"] != "event"))) == \
        sorted(map(key, (r for r in want if r["type"] != "event")))
    return events, live


def metrics(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
        text = r.read().decode()
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, s.labels.get("source"))] = s.value
    return out


def table_row(lv, name):
    """The source's line of `darkdaq-ctl status`, the table for people."""
    table = lv.ctl("status", json_out=False).stdout
    rows = [r for r in table.splitlines() if r.split(" ", 1)[0] == name]
    assert len(rows) == 1, table
    return rows[0]


def when(cond):
    """cond as a wait_for condition over a fresh status: the status if cond(status)."""
    return lambda lv: (lambda s: s if cond(s) else None)(lv.status())


def delivered(lv, b0, b1, events):
    """Both boards' bytes read up to b0 and b1, and the events before the last
    trigger decided (the last one waits for the stop: no source moved past it)."""
    s = lv.status()
    return [x["bytes"] for x in s["sources"]] == [b0, b1] and \
        s["builder"].get("events") == events


# ---- a long run: every trigger once, equal to replay; BUSY at both boards ----

def test_two_boards_every_trigger_once_equal_replay_busy_at_both(tmp_path, streams, rig):
    n, buf = TRIGGERS, 4 << 20
    first = n * 2 // 5
    mock, lv = rig(usb_sources(), daemon_extra="storage_buffer_bytes = %d\n" % buf,
                   builder=DATA_DECIDES)
    for b in (0, 1):
        mock.cmd("limit", b, streams.end(b, first))
    r = lv.ctl("configure")
    assert r["message"] == "configured 2 sources", r          # both there: nothing to say
    assert [x["attached"] for x in lv.status()["sources"]] == [True, True]
    lv.ctl("start", "--run", "5")
    lv.wait_for(lambda: delivered(lv, streams.end(0, first), streams.end(1, first), first - 1),
                "the first %d triggers" % first, bound_s=BOUND_S)
    lv.wait_for(lambda: lv.status()["storage"]["acked"] > 0, "the store's first ACK")

    # the store stops taking: BUSY reaches both boards, then is cleared
    os.kill(lv.store.pid, signal.SIGSTOP)
    for b in (0, 1):
        mock.cmd("limit", b, len(streams.data[b]))
    s = lv.wait_for(lambda: when(lambda x: x["busy"])(lv), "BUSY", bound_s=BOUND_S)
    lv.wait_for(lambda: [mock.last(b, BUSY) for b in (0, 1)] == [1, 1], "BUSY at both boards")
    assert all(x["busy"] for x in s["sources"])
    os.kill(lv.store.pid, signal.SIGCONT)
    lv.wait_for(lambda: not lv.status()["busy"], "BUSY cleared", bound_s=BOUND_S)
    lv.wait_for(lambda: [mock.last(b, BUSY) for b in (0, 1)] == [0, 0],
                "BUSY cleared at both boards")

    lv.wait_for(lambda: delivered(lv, len(streams.data[0]), len(streams.data[1]), n - 1),
                "every trigger", bound_s=BOUND_S)
    lv.wait_for(lambda: lv.status()["storage"]["held_records"] == 0, "the store caught up",
                bound_s=BOUND_S)
    r = lv.ctl("stop")
    assert r["store_confirmed"] is True, r
    assert lv.status()["storage"]["max_held_bytes"] <= buf

    events, _ = assert_equal_replay(lv, 5, streams.path, tmp_path)
    assert [e["trigger"] for e in events] == list(range(1, n + 1))
    assert all(e["status"] == ["complete"] for e in events)
    for b in (0, 1):
        st = mock.status(b)
        assert st["gen"] == 1 and st["claims"] == 1
        req = [(r, v) for _, r, v in st["requests"]]
        assert req[0] == (RUN, 1) and req[-1] == (RUN, 0)
        assert (BUSY, 1) in req and (BUSY, 0) in req


# ---- board 1 unplugged mid-fragment, back 2 s later ----

def test_board_unplugged_mid_fragment_and_back(tmp_path, streams, rig):
    a, b, n = 2000, 3000, 6000          # board 1 leaves inside a+1, returns at b+1
    assert n <= TRIGGERS
    port = free_ports(1)[0]
    # the window fills from the events before the unplug: BUSY is on when board 1 returns
    mock, lv = rig(usb_sources(), builder=DATA_DECIDES,
                   daemon_extra="metrics = 127.0.0.1:%d\nstorage_buffer_bytes = %d\n"
                   "busy_high_bytes = %d\nbusy_low_bytes = %d\n" % (port, 1 << 20, 1 << 17,
                                                                    1 << 16))
    cut = streams.start(1, a + 1) + (streams.end(1, a + 1) - streams.start(1, a + 1)) // 2
    for k in (0, 1):
        mock.cmd("throttle", k, 0)      # the boards send what they hold, BUSY or not
        mock.cmd("limit", k, 0)
    mon = Mon(tmp_path, lv)
    try:
        lv.ctl("configure")
        lv.ctl("start", "--run", "7")
        lv.wait_for(lambda: lv.status()["storage"]["acked"] > 0, "the store's first ACK")
        os.kill(lv.store.pid, signal.SIGSTOP)
        mock.cmd("limit", 0, streams.end(0, a))
        mock.cmd("limit", 1, cut)
        lv.wait_for(lambda: delivered(lv, streams.end(0, a), cut, a - 1),
                    "board 0 up to trigger %d, board 1 into trigger %d" % (a, a + 1))
        lv.wait_for(lambda: lv.status()["busy"], "BUSY from the stopped store")
        lv.wait_for(lambda: [mock.last(k, BUSY) for k in (0, 1)] == [1, 1],
                    "BUSY at both boards")

        mock.cmd("unplug", 1)
        away = time.monotonic()
        s = lv.wait_for(lambda: when(lambda x: x["sources"][1]["unplugs"] == 1)(lv),
                        "the unplug in status")
        assert not s["sources"][1]["attached"] and s["sources"][1]["resets"] == 1
        gone = 'source "board1" (usb): usb 1209:0001 serial DK-B (bus 1 dev 3): unplugged'
        lv.wait_for(lambda: gone in lv.daemon_log(), "the unplug in the log")
        # the triggers board 1 misses
        mock.cmd("limit", 0, streams.end(0, b))
        lv.wait_for(lambda: lv.source(0)["bytes"] == streams.end(0, b),
                    "board 0 up to trigger %d" % b)
        assert metrics(port)[("darkdaq_source_unplugs_total", "board1")] == 1
        assert "UNPLUGGED" in table_row(lv, "board1") and "UNPLUGGED" not in table_row(lv, "board0")
        m = lv.wait_for(lambda: (lambda x: x if [a["value"] for a in x["mon"]["alarms"]
                                                 if a["name"] == "source board1 unplugs"] == [1]
                                 else None)(mon.get("status.json")),
                        "darkdaq-mon's alarm on the unplug")
        assert m["daemon"]["sources"][1]["attached"] is False

        # back about 2 s after it left (a duration of the scenario, not a wait on a state)
        time.sleep(max(0.0, 2.0 - (time.monotonic() - away)))
        mock.cmd("seek", 1, streams.start(1, b + 1))
        mock.cmd("limit", 1, streams.end(1, n))
        mock.cmd("plug", 1)
        lv.wait_for(lambda: (mock.last(1, RUN, gen=2), mock.last(1, BUSY, gen=2)) == (1, 1),
                    "RUN sent again and BUSY re-asserted at board 1")
        s = lv.wait_for(lambda: when(lambda x: x["sources"][1]["attached"])(lv),
                        "board 1 back in status")
        assert s["sources"][1]["reconnects"] == 1 and s["busy"]
        back = ('source "board1" (usb): usb 1209:0001 serial DK-B: back at usb 1-2 '
                '(bus 1 dev 3); RUN and BUSY sent again')
        lv.wait_for(lambda: back in lv.daemon_log(), "the return in the log")
        m = lv.wait_for(lambda: (lambda x: x if x["daemon"]["sources"][1]["attached"]
                                 else None)(mon.get("status.json")),
                        "darkdaq-mon seeing board 1 back")
        assert m["daemon"]["sources"][1]["reconnects"] == 1
        assert "UNPLUGGED" not in table_row(lv, "board1")
        mx = metrics(port)
        assert mx[("darkdaq_source_reconnects_total", "board1")] == 1
        assert mx[("darkdaq_source_unplugs_total", "board0")] == 0

        os.kill(lv.store.pid, signal.SIGCONT)
        lv.wait_for(lambda: not lv.status()["busy"], "BUSY cleared")
        lv.wait_for(lambda: [mock.last(k, BUSY) for k in (0, 1)] == [0, 0],
                    "BUSY cleared at both boards")
        mock.cmd("limit", 0, streams.end(0, n))
        # board 1's bytes: those before the unplug, then those after its return
        lv.wait_for(lambda: delivered(lv, streams.end(0, n),
                                      cut + streams.end(1, n) - streams.start(1, b + 1), n - 1),
                    "both boards up to trigger %d" % n)
        lv.wait_for(lambda: lv.status()["storage"]["held_records"] == 0, "the store caught up")
        r = lv.ctl("stop")
        assert r["store_confirmed"] is True, r
    finally:
        mon_log = mon.stop()
        mon.log.close()
    assert "error" not in mon_log, mon_log

    files = [streams.piece(tmp_path / "b0.raw", 0, 1, n),
             streams.piece(tmp_path / "b1-before.raw", 1, 1, a + 1, cut=cut),
             streams.piece(tmp_path / "b1-after.raw", 1, b + 1, n)]
    events, recs = assert_equal_replay(lv, 7, files, tmp_path)
    assert [e["trigger"] for e in events] == list(range(1, n + 1))
    for e in events:
        if a < e["trigger"] <= b:
            assert e["status"] == ["incomplete"] and e["missing"] == [1], e
        else:
            assert e["status"] == ["complete"], e
    others = [r for r in recs if r["type"] not in ("event", "run_header", "run_trailer")]
    assert others == [{"type": "junk", "run": 7, "stream": 1, "offset": streams.start(1, a + 1),
                       "bytes": cut - streams.start(1, a + 1),
                       "reason": others[0]["reason"]}], others
    assert "cut" in others[0]["reason"]
    s = lv.source(1)
    # the reader counts the cut fragment as bad; the builder records it as junk
    assert (s["unplugs"], s["reconnects"], s["resets"], s["bad"]) == (1, 1, 1, 1)
    st = mock.status(1)
    assert st["gen"] == 2 and st["claims"] == 2
    assert [(r, v) for g, r, v in st["requests"] if g == 2][-1] == (RUN, 0)


# ---- which boards are taken ----

def test_wrong_serial_not_taken_absent_board_taken_when_it_appears(tmp_path, streams, rig):
    m, n = 500, 2000
    mock, lv = rig(usb_sources(), plugged=(0,), builder=DATA_DECIDES)
    mock.cmd("add", 2, "DK-X", streams.path[1])         # a 1209:0001 nobody configured
    mock.cmd("plug", 2)
    mock.cmd("limit", 0, streams.end(0, m))
    mock.cmd("limit", 1, streams.end(1, n))
    r = lv.ctl("configure")
    absent = ('source "board1" (usb): usb 1209:0001 serial DK-B: not present; it is taken '
              'when it appears')
    assert absent in r["message"], r
    assert absent in lv.daemon_log()
    assert [x["attached"] for x in lv.status()["sources"]] == [True, False]
    x = mock.status(2)
    assert x["serial_reads"] >= 1 and x["claims"] == 0 and x["requests"] == []

    lv.ctl("start", "--run", "3")
    lv.wait_for(lambda: lv.source(0)["bytes"] == streams.end(0, m),
                "board 0 up to trigger %d" % m)
    mock.cmd("plug", 1)
    lv.wait_for(lambda: mock.last(1, RUN) == 1, "RUN at board 1 when it appears")
    s = lv.wait_for(lambda: when(lambda x: x["sources"][1]["attached"])(lv), "board 1 taken")
    assert s["sources"][1]["reconnects"] == 0           # a first attach
    lv.wait_for(lambda: 'source "board1" (usb): usb 1209:0001 serial DK-B: attached at usb 1-2 '
                '(bus 1 dev 3); RUN sent' in lv.daemon_log(), "the attach in the log")
    mock.cmd("limit", 0, streams.end(0, n))
    lv.wait_for(lambda: delivered(lv, streams.end(0, n), streams.end(1, n), n - 1),
                "both boards up to trigger %d" % n)
    lv.wait_for(lambda: lv.status()["storage"]["held_records"] == 0, "the store caught up")
    assert lv.ctl("stop")["store_confirmed"] is True

    files = [streams.piece(tmp_path / "b0.raw", 0, 1, n),
             streams.piece(tmp_path / "b1.raw", 1, 1, n)]
    events, _ = assert_equal_replay(lv, 3, files, tmp_path)
    assert [e["trigger"] for e in events] == list(range(1, n + 1))
    assert all(e["status"] == ["complete"] for e in events)
    x = mock.status(2)
    assert x["claims"] == 0 and x["requests"] == []     # never taken
