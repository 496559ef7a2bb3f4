# SPDX-License-Identifier: Apache-2.0
"""darkdaqd -c: the live service end to end, with real processes and real
ZeroMQ sockets (ipc:// in short temporary directories, as the default
endpoints are; tcp:// on loopback where a test is about tcp): simulated boards -> darkdaqd -> store -> run
file, checked against darkdaqd --replay of darkdaq-sim's files; BUSY while
the store is stopped; SIGTERM during a run; a monitor subscriber; bad
configurations; darkdaq-ctl transitions.  No test sleeps: each waits on its
condition with a generous bound.

The store is darkdaq-store when it is built, else tests/fake_store.py (the
same protocol and run files).  DARKDAQ_LIVE_EVENTS sets the size of the
main end-to-end test (default 5000; the full proof is 1000000)."""
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time

import pytest
import zmq

from conftest import BUILD, ipc_endpoints, program, wait_listening

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "proto"))
from darkdaq_reader import RunFile, read_run  # noqa: E402

EVENTS = int(os.environ.get("DARKDAQ_LIVE_EVENTS", "5000"))
TAG_FIELDS = ["zprime_invisible", "mumu_tautau", "four_muon", "tau_1x3", "displaced_vertex",
              "missing_energy", "idm_dark_higgs", "single_photon", "three_photon"]
HERE = os.path.dirname(os.path.abspath(__file__))


def replace_config(path, text):
    """Writes a new configuration the way an operator's tools do before a
    SIGHUP: whole, by rename, so that the program never reads half a file."""
    tmp = path.with_name(path.name + ".new")
    tmp.write_text(text)
    os.replace(tmp, path)

def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def store_command(conf):
    real = BUILD / "bin" / "darkdaq-store"
    if real.exists():
        return [str(real), "-c", str(conf)]
    return ["/usr/bin/python3", os.path.join(HERE, "fake_store.py"), "-c", str(conf)]


class Live:
    """darkdaqd and a store on ipc:// sockets in a short directory, files in
    tmp."""

    def __init__(self, tmp, sources, daemon_extra="", builder="", store_extra=""):
        self.tmp = tmp
        self.ep = ipc_endpoints()
        self.conf = tmp / "darkdaqd.ini"
        text = "[daemon]\n" + "".join("%s = %s\n" % kv for kv in self.ep.items())
        if not any(line.split("=")[0].strip() == "metrics" for line in daemon_extra.splitlines()):
            text += "metrics =\n"  # off: the default port would clash between daemons
        # run numbers of its own: never the system's, nor another test's
        text += "state_dir = %s\n" % (tmp / "state")
        text += daemon_extra + "\n" + builder + "\n" + sources
        self.conf.write_text(text)
        self.store_dir = tmp / "store"
        self.store_dir.mkdir()
        self.store_conf = tmp / "store.ini"
        self.store_conf.write_text("[store]\ndir = %s\ndata = %s\n" % (
            self.store_dir, self.ep["storage"]) + store_extra)
        self.log = open(tmp / "darkdaqd.log", "w+")
        self.start_daemon()
        self.store_log = open(tmp / "store.log", "w+")
        self.start_store()

    def start_store(self):
        self.store = subprocess.Popen(store_command(self.store_conf), stderr=self.store_log,
                                      stdout=subprocess.DEVNULL)

    def start_daemon(self):
        self.d = subprocess.Popen([program("darkdaqd"), "-c", str(self.conf)],
                                  stderr=self.log, stdout=subprocess.DEVNULL)

    def ctl(self, *args, json_out=True, check=True, timeout_ms=30000):
        wait_listening(self.ep["control"], self.d)
        cmd = [program("darkdaq-ctl"), "--endpoint", self.ep["control"],
               "--timeout-ms", str(timeout_ms)] + (["--json"] if json_out else []) + list(args)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if check:
            assert p.returncode == 0, (args, p.stdout, p.stderr, self.daemon_log())
        return json.loads(p.stdout) if json_out and p.stdout.startswith("{") else p

    def status(self):
        return self.ctl("status")

    def wait_for(self, cond, what, bound_s=60):
        """Polls cond() until true; between polls it waits on the daemon's
        exit (a real event: a daemon that dies fails the test at once)."""
        end = time.monotonic() + bound_s
        while True:
            v = cond()
            if v:
                return v
            assert time.monotonic() < end, "timed out waiting for " + what + "\n" + \
                self.daemon_log()
            try:
                rc = self.d.wait(timeout=0.05)
                pytest.fail("darkdaqd exited %s while waiting for %s\n%s" % (
                    rc, what, self.daemon_log()))
            except subprocess.TimeoutExpired:
                pass

    def daemon_log(self):
        self.log.flush()
        with open(self.tmp / "darkdaqd.log") as f:
            return f.read()

    def run_file(self, run):
        return self.store_dir / ("run-%06d-000.dkr" % run)

    def close(self):
        for p in (self.d, self.store):
            if p.poll() is None:
                if p is self.store:
                    os.kill(p.pid, signal.SIGCONT)
                p.terminate()
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.log.close()
        self.store_log.close()


@pytest.fixture
def live_factory(tmp_path):
    made = []

    def make(*a, **k):
        lv = Live(tmp_path, *a, **k)
        made.append(lv)
        return lv
    yield make
    for lv in made:
        lv.close()


def sim_sources(n_events, seed, rate=0, boards=4, events_key=True):
    text = ""
    for b in range(boards):
        text += ("[source.board%d]\ndriver = sim\nboard = %d\nboards = %d\nseed = %d\n"
                 "rate_hz = %g\n" % (b, b, boards, seed, rate))
        if events_key:
            text += "events = %d\n" % n_events
    return text


def summary(path):
    """{trigger: (status, tags)} of the events, and every record kind counted."""
    events, kinds, trailer = {}, {}, None
    for rec in read_run(str(path)):
        k = rec.WhichOneof("body")
        kinds[k] = kinds.get(k, 0) + 1
        if k == "event":
            ev = rec.event
            assert ev.trigger not in events, "trigger %d twice" % ev.trigger
            events[ev.trigger] = (tuple(ev.status),
                                  tuple(sorted(f.name for f, _ in ev.tags.ListFields())))
        elif k == "run_trailer":
            trailer = rec.run_trailer
    return events, kinds, trailer


def replay_reference(tmp, n, seed):
    out = tmp / "sim"
    subprocess.run([program("darkdaq-sim"), "-n", str(n), "--seed", str(seed), "-o", str(out)],
                   check=True, capture_output=True)
    ref = tmp / "replay.dkr"
    subprocess.run([program("darkdaqd"), "--replay"] +
                   [str(out / ("board-%d.raw" % b)) for b in range(4)] + ["-o", str(ref)],
                   check=True, capture_output=True)
    return ref


def counts(trailer):
    return {c.name: c.value for c in trailer.counts}


# ---- (a) every trigger once, tags as --replay ----

def test_sim_boards_to_store_equal_replay(tmp_path, live_factory):
    seed = 11
    lv = live_factory(sim_sources(EVENTS, seed))
    assert lv.ctl("configure")["state"] == "configured"
    r = lv.ctl("start", "--run", "5")
    assert r["state"] == "running" and r["run"] == 5
    lv.wait_for(lambda: lv.status()["builder"].get("events") == EVENTS, "every event built",
                bound_s=max(60, EVENTS / 2000))
    # the store has written all but the trailer: stop then waits only for that
    lv.wait_for(lambda: lv.status()["storage"]["held_records"] == 0, "the store caught up",
                bound_s=max(60, EVENTS / 2000))
    r = lv.ctl("stop")
    assert r["state"] == "configured" and r["store_confirmed"] is True, r
    live, kinds, trailer = summary(lv.run_file(5))
    assert sorted(live) == list(range(1, EVENTS + 1))
    assert kinds == {"run_header": 1, "event": EVENTS, "run_trailer": 1}
    ref, _, _ = summary(replay_reference(tmp_path, EVENTS, seed))
    assert live == ref
    c = counts(trailer)
    assert c["events"] == EVENTS and c["complete"] == EVENTS
    assert trailer.end_reason == "stop" and trailer.records_in_file == EVENTS + 2


# ---- (b) BUSY while the store is stopped; nothing lost ----

def test_store_stopped_asserts_busy_then_clears(tmp_path, live_factory):
    n, buf = 4000, 1 << 20
    lv = live_factory(sim_sources(n, 3, rate=2000),
                      daemon_extra="storage_buffer_bytes = %d\n" % buf)
    lv.ctl("configure")
    lv.ctl("start", "--run", "2")
    lv.wait_for(lambda: lv.status()["storage"]["acked"] > 0, "the store's first ACK")
    os.kill(lv.store.pid, signal.SIGSTOP)
    s = lv.wait_for(lambda: (lambda x: x if x["busy"] else None)(lv.status()), "BUSY")
    assert s["storage"]["held_bytes"] <= buf
    assert s["storage"]["max_held_bytes"] <= buf
    assert all(src["busy"] for src in s["sources"])
    os.kill(lv.store.pid, signal.SIGCONT)
    lv.wait_for(lambda: not lv.status()["busy"], "BUSY cleared")
    lv.wait_for(lambda: lv.status()["builder"].get("events") == n, "every event built")
    r = lv.ctl("stop")
    assert r["store_confirmed"] is True
    s = lv.status()
    assert s["storage"]["max_held_bytes"] <= buf
    assert s["sources"][0]["busy_ms"] > 0
    live, kinds, _ = summary(lv.run_file(2))
    assert sorted(live) == list(range(1, n + 1))
    assert kinds["event"] == n
    assert all(v[0] == (0,) for v in live.values())     # every event complete


# ---- (c) SIGTERM during a run ----

def test_sigterm_stops_the_run_with_a_trailer(tmp_path, live_factory):
    lv = live_factory(sim_sources(0, 5, rate=1000))
    lv.ctl("configure")
    lv.ctl("start", "--run", "9")
    lv.wait_for(lambda: lv.status()["builder"].get("events", 0) > 300, "300 events")
    lv.d.send_signal(signal.SIGTERM)
    assert lv.d.wait(timeout=60) == 0, lv.daemon_log()
    assert "signal" in lv.daemon_log()
    live, kinds, trailer = summary(lv.run_file(9))
    assert trailer is not None and trailer.end_reason == "signal"
    c = counts(trailer)
    assert c["events"] == kinds["event"] == len(live)
    assert c.get("late", 0) == kinds.get("late", 0)
    assert c.get("junk", 0) == kinds.get("junk", 0)
    assert c.get("corrupt", 0) == kinds.get("corrupt", 0)
    assert trailer.records_in_file == sum(kinds.values())


# ---- (d) a monitor subscriber gets only its tag ----

def test_monitor_subscriber_gets_only_its_tag(tmp_path, live_factory):
    import darkdaq_pb2
    tag = "missing_energy"
    lv = live_factory(sim_sources(0, 8, rate=2000))
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, tag.encode())
    sub.connect(lv.ep["monitor"])
    lv.ctl("configure")
    lv.ctl("start", "--run", "1")
    # a subscription takes effect some time after connect: collect what
    # comes once it does, up to 100 samples
    got = []
    poller = zmq.Poller()
    poller.register(sub, zmq.POLLIN)
    end = time.monotonic() + 60
    while len(got) < 100 and time.monotonic() < end:
        if poller.poll(100):
            got.append(sub.recv_multipart())
    lv.ctl("stop")
    sub.close()
    ctx.term()
    assert len(got) == 100, "only %d samples" % len(got)
    seen = set()
    for topic, body in got:
        assert topic == tag.encode()
        rec = darkdaq_pb2.Record()
        rec.ParseFromString(body)
        assert rec.WhichOneof("body") == "event"
        assert rec.event.tags.HasField(tag)
        seen.add(rec.event.trigger)
    live, _, _ = summary(lv.run_file(1))
    tagged = {t for t, v in live.items() if tag in v[1]}
    assert len(seen) == 100 and seen <= tagged
    assert len(tagged) < len(live)      # other events were there and not sent to us
    assert lv.status()["monitor"]["dropped"] == 0


# ---- (e) bad configuration, endpoint in use ----

@pytest.mark.parametrize("text,line,word", [
    ("[daemon]\nno_such_key = 1\n", 2, "no_such_key"),
    ("[daemon]\nstop_timeout_ms = soon\n", 2, "stop_timeout_ms"),
    ("[source.a]\ndriver = sim\nboard = 99\n", 3, "board"),
    ("[source.a]\ndriver = file\nseed = 1\n", 3, "seed"),
])
def test_bad_configuration_exits_2_naming_line_and_key(tmp_path, text, line, word):
    conf = tmp_path / "bad.ini"
    conf.write_text(text)
    p = subprocess.run([program("darkdaqd"), "-c", str(conf)], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 2
    assert "%s:%d:" % (conf, line) in p.stderr and word in p.stderr, p.stderr


def test_missing_configuration_exits_2(tmp_path):
    p = subprocess.run([program("darkdaqd"), "-c", str(tmp_path / "none.ini")],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and "none.ini" in p.stderr and "cannot open" in p.stderr


def test_endpoint_in_use_exits_1_naming_it(tmp_path):
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen()
    port = held.getsockname()[1]
    others = free_ports(3)
    conf = tmp_path / "d.ini"
    conf.write_text("[daemon]\ncontrol = tcp://127.0.0.1:%d\nmonitor = tcp://127.0.0.1:%d\n"
                    "storage = tcp://127.0.0.1:%d\ninsecure = yes\n"
                    "[source.a]\ndriver = sim\n" % (others[0], others[1], port))
    p = subprocess.run([program("darkdaqd"), "-c", str(conf)], capture_output=True, text=True,
                       timeout=30)
    held.close()
    assert p.returncode == 1
    assert "tcp://127.0.0.1:%d" % port in p.stderr and "storage" in p.stderr, p.stderr


# ---- (f) darkdaq-ctl transitions ----

def test_ctl_transitions_and_repeats(tmp_path, live_factory):
    lv = live_factory(sim_sources(0, 2, rate=200))
    p = lv.ctl("start", json_out=False, check=False)
    assert p.returncode == 1 and "configure first" in p.stderr
    assert lv.ctl("status")["state"] == "idle"
    for _ in range(2):
        r = lv.ctl("configure")
        assert r["ok"] and r["state"] == "configured"
    r = lv.ctl("start", "--run", "7")
    assert r["ok"] and r["state"] == "running" and r["run"] == 7
    r = lv.ctl("start")
    assert r["ok"] and r["run"] == 7 and "already" in r["message"]
    p = lv.ctl("start", "--run", "8", json_out=False, check=False)
    assert p.returncode == 1 and "run 7" in p.stderr
    p = lv.ctl("configure", json_out=False, check=False)
    assert p.returncode == 1 and "stop first" in p.stderr
    p = lv.ctl("status", json_out=False)
    assert "running" in p.stdout and "board0" in p.stdout and "zprime_invisible" in p.stdout
    for _ in range(2):
        r = lv.ctl("stop")
        assert r["ok"] and r["state"] == "configured"
    r = lv.ctl("start")
    assert r["run"] == 8 and r["state"] == "running"
    r = lv.ctl("reset")
    assert r["ok"] and r["state"] == "idle"
    assert lv.ctl("reset")["state"] == "idle"
    s = lv.status()
    assert s["state"] == "idle" and s["sources"] == []
    # run 7 and run 8 both closed with a trailer
    for run in (7, 8):
        _, kinds, trailer = summary(lv.run_file(run))
        assert trailer is not None and kinds["run_header"] == 1


def test_ctl_usage_and_no_daemon(tmp_path):
    ctl = program("darkdaq-ctl")
    assert subprocess.run([ctl], capture_output=True).returncode == 2
    assert subprocess.run([ctl, "frobnicate"], capture_output=True).returncode == 2
    assert subprocess.run([ctl, "start", "--run", "x"], capture_output=True).returncode == 2
    port = free_ports(1)[0]
    p = subprocess.run([ctl, "--endpoint", "tcp://127.0.0.1:%d" % port, "--timeout-ms", "300",
                        "--insecure", "status"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 1 and "no answer" in p.stderr


def test_control_rejects_bad_requests(tmp_path, live_factory):
    lv = live_factory(sim_sources(10, 1))
    ctx = zmq.Context()
    req = ctx.socket(zmq.REQ)
    req.setsockopt(zmq.LINGER, 0)
    req.connect(lv.ep["control"])
    for bad in [b"", b"launch", b"start --run -1", b"\xff\xfe", b"{\"cmd\":1}", b"x" * 5000,
                b"{\"cmd\":\"start\",\"run\":12"]:
        req.send(bad)
        assert req.poll(30000), "no reply to %r" % bad[:20]
        r = json.loads(req.recv())
        assert r["ok"] is False and "bad request" in r["message"]
    req.send(b"{\"cmd\":\"configure\"}")
    assert req.poll(30000)
    assert json.loads(req.recv())["state"] == "configured"
    req.close()
    ctx.term()


def test_multi_part_request_is_refused_whole(tmp_path, live_factory):
    """["status", "stop"] is one message: it gets one refusal, and the run
    goes on (each part used to run as a command, the stop included)."""
    lv = live_factory(sim_sources(0, 4, rate=200))
    lv.ctl("configure")
    lv.ctl("start", "--run", "5")
    ctx = zmq.Context()
    req = ctx.socket(zmq.REQ)
    req.setsockopt(zmq.LINGER, 0)
    req.connect(lv.ep["control"])
    for parts in ([b"status", b"stop"], [b"stop", b"status"], [b"stop", b""]):
        req.send_multipart(parts)
        assert req.poll(30000), "no reply to %r" % parts
        reply = req.recv_multipart()
        assert len(reply) == 1, reply
        r = json.loads(reply[0])
        assert r["ok"] is False and "2 message parts" in r["message"], r
        assert r["state"] == "running" and r["run"] == 5, r
    req.close()
    ctx.term()
    s = lv.status()
    assert s["state"] == "running" and s["run"] == 5, s
    assert lv.ctl("stop")["state"] == "configured"


# ---- crashes: the store killed mid-run, the daemon killed mid-run ----

def run_files_events(lv, run):
    """Event triggers over every file of the run, each file read to its last
    whole frame, and the files' trailers' end reasons."""
    triggers, reasons = [], []
    files = sorted(lv.store_dir.glob("run-%06d-*.dkr" % run))
    for f in files:
        rf = RunFile(str(f), strict=False)
        for rec in rf:
            body = rec.WhichOneof("body")
            if body == "event":
                triggers.append(rec.event.trigger)
            elif body == "run_trailer":
                reasons.append(rec.run_trailer.end_reason)
    return triggers, reasons, files


def test_store_killed_mid_run_loses_nothing_the_daemon_held(tmp_path, live_factory):
    n = 20000
    lv = live_factory(sim_sources(n, 21, rate=4000))
    lv.ctl("configure")
    lv.ctl("start", "--run", "3")
    lv.wait_for(lambda: lv.status()["storage"].get("acked", 0) > 2000, "the store to ack some")
    lv.store.kill()                               # SIGKILL: no trailer, a .part left
    lv.store.wait()
    assert list(lv.store_dir.glob("run-000003-000.dkr.part"))
    lv.wait_for(lambda: lv.status()["builder"].get("events", 0) > 8000,
                "events to pile up in the daemon while the store is gone")
    lv.start_store()                              # recovers the .part, says HELLO
    lv.wait_for(lambda: lv.status()["builder"].get("events") == n, "every event built",
                bound_s=120)
    lv.wait_for(lambda: lv.status()["storage"]["held_records"] == 0,
                "the new store to take everything", bound_s=120)
    r = lv.ctl("stop")
    assert r["store_confirmed"] is True, r
    triggers, reasons, files = run_files_events(lv, 3)
    assert len(files) >= 2                        # the dead store's file and the new one
    assert sorted(triggers) == list(range(1, n + 1))      # each exactly once
    assert reasons[-1] == "stop"
    # the new session began with the run's header, the same one: each file
    # opens with it
    heads = [next(iter(RunFile(str(f), strict=False))) for f in files]
    assert all(h.WhichOneof("body") == "run_header" for h in heads)
    assert len({(h.run_header.start_time_ns, h.run_header.config_hash) for h in heads}) == 1


def forge_all(lv, session):
    """A foreign DEALER on the storage endpoint sends every store message,
    forged: HELLO, ACK of seq 2^64-1, FULL, RESUME, NAK, each naming the
    real session.  Returns the socket (still connected)."""
    ctx = zmq.Context.instance()
    rogue = ctx.socket(zmq.DEALER)
    rogue.setsockopt(zmq.LINGER, 0)
    rogue.connect(lv.ep["storage"])
    for kind, seq in ((1, 0), (3, 2**64 - 1), (4, 0), (5, 0), (6, 5), (3, 2**64 - 1)):
        rogue.send(struct.pack("<IIIIIIQ", 0x43534B44, kind, 0 if kind == 1 else session,
                               7, 1, 0, seq))
    return rogue


@pytest.mark.parametrize("store_state", ["running", "paused", "restarting"])
def test_forged_store_messages_change_nothing(tmp_path, live_factory, store_state):
    n = 6000
    lv = live_factory(sim_sources(n, 23, rate=3000))
    lv.ctl("configure")
    lv.ctl("start", "--run", "7")
    lv.wait_for(lambda: lv.status()["storage"].get("acked", 0) > 500, "the store to ack some")
    session = lv.status()["storage"]["session"]
    if store_state == "paused":
        lv.store.send_signal(signal.SIGSTOP)
    elif store_state == "restarting":
        lv.store.kill()
        lv.store.wait()
    rogue = forge_all(lv, session)
    lv.wait_for(lambda: lv.status()["storage"]["refused_hellos"] +
                lv.status()["storage"]["forged"] >= 5, "the forgeries to be counted")
    full = lv.status()
    st = full["storage"]
    assert st["forged"] == 5 and st["store_full"] is False, st
    # the forged FULL asserted no BUSY (6000 small events fill no buffer)
    assert full["busy"] is False and not any(src["busy"] for src in full["sources"]), full
    if store_state == "restarting":
        # the rogue's HELLO found no live store: it holds the session but
        # never ACKs; nothing is freed for it
        assert st["session"] != session
    else:
        assert st["refused_hellos"] == 1 and st["session"] == session, st
    if store_state == "paused":
        lv.store.send_signal(signal.SIGCONT)
    rogue.close()                       # a rogue that goes away frees the session
    if store_state == "restarting":
        lv.start_store()
    lv.wait_for(lambda: lv.status()["builder"].get("events") == n, "every event built",
                bound_s=120)
    lv.wait_for(lambda: lv.status()["storage"]["held_records"] == 0,
                "the store to take everything", bound_s=120)
    r = lv.ctl("stop")
    assert r["store_confirmed"] is True, r
    triggers, reasons, _ = run_files_events(lv, 7)
    assert sorted(triggers) == list(range(1, n + 1))      # each exactly once
    assert reasons[-1] == "stop"


def dump_triggers(lv, run):
    """Event triggers over every file of the run as darkdaq-dump --json reads
    them (a reader of its own, beside the Python one run_files_events uses),
    and the run's end reasons."""
    triggers, reasons = [], []
    for f in sorted(lv.store_dir.glob("run-%06d-*.dkr" % run)):
        out = subprocess.run([program("darkdaq-dump"), "--json", str(f)], capture_output=True,
                             text=True, check=True, timeout=120).stdout
        for line in out.splitlines():
            rec = json.loads(line)
            if rec["type"] == "event":
                triggers.append(rec["trigger"])
            elif rec["type"] == "run_trailer":
                reasons.append(rec["end_reason"])
    return triggers, reasons


def test_rogue_store_gets_nothing_and_takes_nothing(tmp_path, live_factory):
    """A second DEALER on the storage endpoint while the real store holds
    the session: it says HELLO as a store would (every 200 ms), and another
    one says nothing at all.  Neither is sent a single message, the real
    store keeps the session, and every trigger is on disk once."""
    n = 6000
    lv = live_factory(sim_sources(n, 29, rate=3000))
    lv.ctl("configure")
    lv.ctl("start", "--run", "6")
    lv.wait_for(lambda: lv.status()["storage"].get("acked", 0) > 500, "the store to ack some")
    session = lv.status()["storage"]["session"]
    ctx = zmq.Context.instance()
    rogues = []
    for _ in range(2):
        r = ctx.socket(zmq.DEALER)
        r.setsockopt(zmq.LINGER, 0)
        r.connect(lv.ep["storage"])
        rogues.append(r)
    hello = struct.pack("<IIIIIIQ", 0x43534B44, 1, 0, 0, 1, 0, 0)
    got = []
    poller = zmq.Poller()
    for r in rogues:
        poller.register(r, zmq.POLLIN)

    def drain():
        for sock, _ in poller.poll(200):
            got.append(sock.recv_multipart())
        rogues[0].send(hello)

    def built_and_taken():
        drain()
        st = lv.status()
        return st["builder"].get("events") == n and st["storage"]["held_records"] == 0 and \
            st["storage"]["refused_hellos"] >= 3

    lv.wait_for(built_and_taken, "every event built and taken, the rogue's HELLOs refused",
                bound_s=120)
    st = lv.status()["storage"]
    assert st["session"] == session and st["forged"] == 0, st
    r = lv.ctl("stop")
    assert r["store_confirmed"] is True, r
    drain()
    for sock in rogues:
        sock.close()
    assert got == [], "the rogues were sent %d messages, the first %r" % (len(got), got[0][:1])
    triggers, reasons = dump_triggers(lv, 6)
    assert sorted(triggers) == list(range(1, n + 1))      # each exactly once
    assert reasons[-1] == "stop"


def test_daemon_killed_store_closes_after_silence_and_a_new_daemon_goes_on(
        tmp_path, live_factory):
    lv = live_factory(sim_sources(0, 22, rate=2000, events_key=False),
                      store_extra="silence_close_ms = 1500\n")
    lv.ctl("configure")
    lv.ctl("start", "--run", "4")
    lv.wait_for(lambda: lv.status()["storage"].get("acked", 0) > 500, "records to be stored")
    lv.d.kill()
    lv.d.wait()
    closed = lv.store_dir / "run-000004-000.dkr"
    end = time.monotonic() + 60
    while not closed.exists():
        assert time.monotonic() < end, "the store never closed the silent run"
        try:
            lv.store.wait(timeout=0.05)
            pytest.fail("the store exited")
        except subprocess.TimeoutExpired:
            pass
    triggers, reasons, _ = run_files_events(lv, 4)
    assert reasons == ["silence"] and triggers
    assert len(triggers) == len(set(triggers))
    lv.start_daemon()
    lv.ctl("configure")
    lv.ctl("start", "--run", "5")
    lv.wait_for(lambda: lv.status()["builder"].get("events", 0) > 200, "the new run to flow")
    r = lv.ctl("stop")
    assert r["store_confirmed"] is True, r
    t5, reasons5, _ = run_files_events(lv, 5)
    assert reasons5 == ["stop"] and len(t5) == len(set(t5)) > 200


# ---- the file driver following a growing file ----

def test_file_source_follows_a_growing_file(tmp_path, live_factory):
    n = 2000
    out = tmp_path / "sim"
    subprocess.run([program("darkdaq-sim"), "-n", str(n), "--boards", "1", "--seed", "5",
                    "-o", str(out)], check=True, capture_output=True)
    data = (out / "board-0.raw").read_bytes()
    grow = tmp_path / "growing.raw"
    cut1, cut2 = len(data) * 2 // 5 + 3, len(data) * 3 // 4 + 1    # inside fragments
    grow.write_bytes(data[:cut1])
    lv = live_factory("[source.tail]\ndriver = file\npath = %s\nfollow = yes\n" % grow,
                      builder="[builder]\nsources = 0\n")
    lv.ctl("configure")
    lv.ctl("start", "--run", "6")
    lv.wait_for(lambda: lv.status()["sources"][0]["bytes"] == cut1, "the first part read")
    with open(grow, "ab") as f:
        f.write(data[cut1:cut2])
    lv.wait_for(lambda: lv.status()["sources"][0]["bytes"] == cut2, "the second part read")
    with open(grow, "ab") as f:
        f.write(data[cut2:])
    lv.wait_for(lambda: lv.status()["sources"][0]["bytes"] == len(data), "the rest read")
    r = lv.ctl("stop")
    assert r["store_confirmed"] is True, r
    s = lv.status()["sources"][0]
    assert s["bad"] == 0 and s["junk"] == 0          # no fragment was cut by the growth
    triggers, reasons, _ = run_files_events(lv, 6)
    assert sorted(triggers) == list(range(1, n + 1)) and reasons == ["stop"]


# ---- run numbers survive a restart ----

def test_run_numbers_survive_sigkill_and_are_never_reused(tmp_path, live_factory):
    lv = live_factory(sim_sources(0, 4, rate=500))
    lv.ctl("configure")
    assert lv.ctl("start")["run"] == 1
    assert lv.ctl("stop")["ok"]
    assert lv.ctl("start", "--run", "7")["run"] == 7
    assert (tmp_path / "state" / "last_run").read_text() == "7\n"
    lv.wait_for(lambda: lv.status()["builder"].get("events", 0) > 50, "run 7 to flow")
    lv.d.kill()                                   # SIGKILL: no trailer, nothing saved at exit
    lv.d.wait()
    lv.start_daemon()
    lv.ctl("configure")
    r = lv.ctl("start")
    assert r["run"] == 8, r
    lv.ctl("stop")
    for used in ("8", "7", "1"):
        p = lv.ctl("start", "--run", used, json_out=False, check=False)
        assert p.returncode == 1 and "last run started, 8" in p.stderr, (used, p.stderr)
        assert lv.status()["state"] == "configured"
    r = lv.ctl("start", "--run", "7", "--force")
    assert r["ok"] and r["run"] == 7
    lv.ctl("stop")
    assert (tmp_path / "state" / "last_run").read_text() == "7\n"
    assert lv.ctl("start")["run"] == 8


def test_damaged_state_file_stops_the_daemon_naming_it(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    (state / "last_run").write_text("run forty\n")
    conf = tmp_path / "d.ini"
    conf.write_text("[daemon]\n" + "".join("%s = %s\n" % kv for kv in ipc_endpoints().items()) +
                    "metrics =\nstate_dir = %s\n" % state +
                    "[source.b0]\ndriver = sim\nboard = 0\nboards = 1\n")
    r = subprocess.run([program("darkdaqd"), "-c", str(conf)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 1
    assert str(state / "last_run") in r.stderr and "not a run number" in r.stderr, r.stderr


# ---- SIGHUP reloads; the run goes on ----

def test_sighup_mid_run_reloads_and_the_run_file_is_as_without_it(tmp_path, live_factory):
    import hashlib
    n, seed = 3000, 13
    lv = live_factory(sim_sources(n, seed, rate=2000))
    lv.ctl("configure")
    lv.ctl("start", "--run", "3")
    lv.wait_for(lambda: lv.status()["builder"].get("events", 0) > 200, "200 events")
    text = lv.conf.read_text().replace("[daemon]\n", "[daemon]\nsilence_warn_ms = 4000\n"
                                       "stop_timeout_ms = 20000\n", 1)
    text += "\n[prescale]\nfour_muon = 7\n"
    replace_config(lv.conf, text)
    lv.d.send_signal(signal.SIGHUP)
    lv.wait_for(lambda: "SIGHUP: reloaded" in lv.daemon_log(), "the reload")
    log = lv.daemon_log()
    assert "silence_warn_ms 2000 -> 4000" in log and "prescale.four_muon 1 -> 7" in log, log
    assert "needs a restart, not applied: [daemon] stop_timeout_ms" in log
    digest = hashlib.sha256(text.encode()).hexdigest()
    assert "sha256 %s" % digest in log and "run 3 goes on" in log
    assert lv.status()["state"] == "running"
    lv.wait_for(lambda: lv.status()["builder"].get("events") == n, "every event built")
    r = lv.ctl("stop")
    assert r["store_confirmed"] is True, r
    live, kinds, trailer = summary(lv.run_file(3))
    assert kinds == {"run_header": 1, "event": n, "run_trailer": 1}
    ref, _, ref_trailer = summary(replay_reference(tmp_path, n, seed))
    assert live == ref
    assert len(trailer.reloads) == 1
    rl = trailer.reloads[0]
    assert rl.config_hash == digest and "prescale.four_muon 1 -> 7" in rl.changed
    assert "needs a restart" in rl.changed and rl.time_ns > 0
    dump = subprocess.run([program("darkdaq-dump"), "--json", str(lv.run_file(3))],
                          capture_output=True, text=True, check=True).stdout.splitlines()
    last = json.loads(dump[-1])
    assert last["type"] == "run_trailer" and last["reloads"][0]["config_hash"] == digest
    text_dump = subprocess.run([program("darkdaq-dump"), str(lv.run_file(3))],
                               capture_output=True, text=True, check=True).stdout
    assert "reloaded " in text_dump and "sha256 %s: silence_warn_ms" % digest in text_dump
    # the next run's trailer lists no reload of the last run
    lv.ctl("start")
    lv.ctl("stop")
    _, _, t4 = summary(lv.run_file(4))
    assert len(t4.reloads) == 0
    # a file that cannot be used changes nothing and stops nothing
    replace_config(lv.conf, text.replace("[daemon]\n", "[daemon]\nno_such_key = 1\n", 1))
    lv.d.send_signal(signal.SIGHUP)
    lv.wait_for(lambda: "stays as it was" in lv.daemon_log(), "the refused reload")
    assert "no_such_key" in lv.daemon_log()
    assert lv.status()["state"] == "configured"
    lv.d.send_signal(signal.SIGTERM)
    assert lv.d.wait(timeout=60) == 0
