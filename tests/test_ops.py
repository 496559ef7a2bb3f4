# SPDX-License-Identifier: Apache-2.0
"""darkdaqd's operations side with real processes: who may connect (CURVE
on the control socket, darkdaq-ctl with an allowed and a refused key), GET
/metrics during and after a run (parsed by prometheus_client, counters equal
to the run file's trailer), and the sd_notify protocol (READY=1 first,
WATCHDOG=1 within the interval, STOPPING=1 on SIGTERM) on a socket of the
test's own, as systemd would see it.  No test sleeps: each waits on its
condition with a generous bound."""
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import ipc_endpoints, program, wait_listening
from test_live import free_ports, sim_sources, store_command

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "proto"))
from darkdaq_reader import read_run  # noqa: E402

# trailer count name -> (metric family as the parser names it, labels)
FLAG_COUNTS = {"complete": "complete", "incomplete": "incomplete", "duplicate": "duplicate",
               "corrupt_events": "corrupt", "time_mismatch": "time_mismatch",
               "truncated": "truncated", "busy_seen": "busy_seen",
               "test_pattern": "test_pattern"}
BUILDER_COUNTS = {"events": "darkdaq_built_events", "fragments": "darkdaq_builder_fragments",
                  "good_fragments": "darkdaq_builder_good_fragments",
                  "late": "darkdaq_builder_late", "junk": "darkdaq_builder_junk",
                  "junk_bytes": "darkdaq_builder_junk_bytes",
                  "corrupt": "darkdaq_builder_corrupt_records",
                  "bytes_in": "darkdaq_builder_bytes_in",
                  "bytes_out": "darkdaq_builder_bytes_out",
                  "out_of_step": "darkdaq_builder_out_of_step"}
TAGS = ["zprime_invisible", "mumu_tautau", "four_muon", "tau_1x3", "displaced_vertex",
        "missing_energy", "idm_dark_higgs", "single_photon", "three_photon"]


class Daemon:
    """darkdaqd on ipc:// sockets in a short directory (metrics on a free
    loopback port), files in tmp, with a store if asked."""

    def __init__(self, tmp, sources, extra="", store=True, preexec_fn=None):
        self.tmp = tmp
        p = free_ports(5)
        self.ep = ipc_endpoints()
        self.metrics_url = "http://127.0.0.1:%d/metrics" % p[4]
        self.conf = tmp / "darkdaqd.ini"
        self.conf.write_text("[daemon]\n" + "".join("%s = %s\n" % kv for kv in self.ep.items())
                             + "metrics = 127.0.0.1:%d\n" % p[4]
                             + "state_dir = %s\n" % (tmp / "state") + extra + "\n" + sources)
        self.log = open(tmp / "darkdaqd.log", "w+")
        self.d = subprocess.Popen([program("darkdaqd"), "-c", str(self.conf)], stderr=self.log,
                                  stdout=subprocess.DEVNULL, preexec_fn=preexec_fn)
        self.store = None
        if store:
            self.store_dir = tmp / "store"
            self.store_dir.mkdir()
            conf = tmp / "store.ini"
            conf.write_text("[store]\ndir = %s\ndata = %s\n" % (
                self.store_dir, self.ep["storage"]))
            self.store_log = open(tmp / "store.log", "w+")
            self.store = subprocess.Popen(store_command(conf), stderr=self.store_log,
                                          stdout=subprocess.DEVNULL)

    def daemon_log(self):
        self.log.flush()
        return (self.tmp / "darkdaqd.log").read_text()

    def ctl(self, *args, keys=(), timeout_ms=30000, check=True):
        wait_listening(self.ep["control"], self.d)
        cmd = [program("darkdaq-ctl"), "--endpoint", self.ep["control"], "--timeout-ms",
               str(timeout_ms), "--json"] + list(keys) + list(args)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if check:
            assert p.returncode == 0, (args, p.stdout, p.stderr, self.daemon_log())
            return json.loads(p.stdout)
        return p

    def wait_for(self, cond, what, bound_s=60):
        """Polls cond() until true; between polls it waits on the daemon's exit."""
        end = time.monotonic() + bound_s
        while True:
            v = cond()
            if v:
                return v
            assert time.monotonic() < end, "timed out waiting for %s\n%s" % (
                what, self.daemon_log())
            try:
                rc = self.d.wait(timeout=0.05)
                pytest.fail("darkdaqd exited %s while waiting for %s\n%s" % (
                    rc, what, self.daemon_log()))
            except subprocess.TimeoutExpired:
                pass

    def scrape(self):
        """The /metrics text, or None while nothing listens yet."""
        try:
            with urllib.request.urlopen(self.metrics_url, timeout=10) as r:
                assert r.status == 200
                assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
                return r.read().decode("utf-8")
        except (ConnectionError, urllib.error.URLError):
            return None

    def metrics(self):
        """{family: {frozenset(labels.items()): value}} of the samples."""
        text = self.wait_for(self.scrape, "the metrics endpoint")
        out = {}
        for fam in text_string_to_metric_families(text):
            for s in fam.samples:
                out.setdefault(s.name, {})[frozenset(s.labels.items())] = s.value
        return out

    def close(self):
        for p in (self.d, self.store):
            if p is not None and p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.log.close()
        if self.store is not None:
            self.store_log.close()


@pytest.fixture
def daemons():
    made = []

    def make(*a, **k):
        d = Daemon(*a, **k)
        made.append(d)
        return d
    yield make
    for d in made:
        d.close()


def one(metrics, name, **labels):
    return metrics[name][frozenset(labels.items())]


def keygen(tmp, *names):
    subprocess.run([program("darkdaq-keygen")] + list(names), cwd=tmp, check=True,
                   capture_output=True)


# ---- (a) CURVE on the control socket ----

def test_client_without_an_allowed_key_cannot_stop_a_run(tmp_path, daemons):
    keygen(tmp_path, "server", "alice", "bob")
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    (allowed / "alice.pub").write_text((tmp_path / "alice.pub").read_text())
    # CURVE on loopback too; no store can connect to the storage sockets in
    # the clear, so stop only waits stop_timeout_ms for the trailer's ACK
    d = daemons(tmp_path, sim_sources(0, 3, rate=200, boards=2, events_key=False),
                extra="stop_timeout_ms = 500\n[auth]\nserver_key = %s\nallowed_clients = %s\n"
                "require_curve = yes\n" % (tmp_path / "server.key", allowed), store=False)
    alice = ["--client-key", str(tmp_path / "alice.key"),
             "--server-key", str(tmp_path / "server.pub"), "--require-curve"]
    bob = ["--client-key", str(tmp_path / "bob.key"),
           "--server-key", str(tmp_path / "server.pub"), "--require-curve"]
    assert d.ctl("configure", keys=alice)["state"] == "configured"
    assert d.ctl("start", "--run", "3", keys=alice)["state"] == "running"

    p = d.ctl("stop", keys=bob, timeout_ms=1500, check=False)
    assert p.returncode == 1 and "no answer" in p.stderr, (p.stdout, p.stderr)
    # a client speaking no CURVE at all gets nowhere either
    p = d.ctl("stop", timeout_ms=1000, check=False)
    assert p.returncode == 1 and "no answer" in p.stderr, (p.stdout, p.stderr)

    st = d.ctl("status", keys=alice)
    assert st["state"] == "running" and st["run"] == 3
    assert st["auth"]["keys"] is True and st["auth"]["allowed_clients"] == 1
    assert st["auth"]["refusals"] >= 1, st["auth"]
    m = d.metrics()
    assert one(m, "darkdaq_auth_refusals_total") >= 1
    assert one(m, "darkdaq_state", state="running") == 1
    assert "refused" in d.daemon_log()

    r = d.ctl("stop", keys=alice)
    assert r["ok"] is True and r["state"] == "configured"


def test_a_monitor_key_cannot_control_the_daemon(tmp_path, daemons):
    keygen(tmp_path, "server", "shift", "mon")
    for role, name in (("control", "shift"), ("monitor", "mon")):
        d = tmp_path / role
        d.mkdir()
        (d / (name + ".pub")).write_text((tmp_path / (name + ".pub")).read_text())
    d = daemons(tmp_path, sim_sources(0, 3, rate=200, boards=2, events_key=False),
                extra="stop_timeout_ms = 500\n[auth]\nserver_key = %s\ncontrol_clients = %s\n"
                "monitor_clients = %s\nrequire_curve = yes\n" % (
                    tmp_path / "server.key", tmp_path / "control", tmp_path / "monitor"),
                store=False)
    keys = {n: ["--client-key", str(tmp_path / (n + ".key")),
                "--server-key", str(tmp_path / "server.pub"), "--require-curve"]
            for n in ("shift", "mon")}
    # the monitor's key reaches the control socket for status only
    p = d.ctl("configure", keys=keys["mon"], timeout_ms=1500, check=False)
    assert p.returncode == 1 and "monitor's key" in p.stdout + p.stderr, (p.stdout, p.stderr)
    assert d.ctl("status", keys=keys["mon"])["state"] == "idle"
    st = d.ctl("status", keys=keys["shift"])
    assert st["state"] == "idle"
    assert "control: configure refused: the client's key is a monitor's" in d.daemon_log()
    assert d.ctl("configure", keys=keys["shift"])["state"] == "configured"


def test_non_local_endpoint_without_keys_is_a_configuration_error(tmp_path):
    port = free_ports(1)[0]
    conf = tmp_path / "d.ini"
    conf.write_text("[daemon]\ncontrol = tcp://0.0.0.0:%d\nmetrics =\n[source.a]\ndriver = sim\n"
                    % port)
    p = subprocess.run([program("darkdaqd"), "-c", str(conf)], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 2, p.stderr
    assert "tcp://0.0.0.0:%d" % port in p.stderr and "control" in p.stderr

    conf.write_text("[auth]\nserver_key = %s\n" % (tmp_path / "none.key"))
    p = subprocess.run([program("darkdaqd"), "-c", str(conf)], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 2 and "allowed_clients" in p.stderr, p.stderr

    p = subprocess.run([program("darkdaq-ctl"), "--endpoint", "tcp://10.1.2.3:5555", "status"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "10.1.2.3" in p.stderr, p.stderr


# ---- (b) /metrics equals the run file ----

def test_metrics_during_and_after_a_run_equal_the_trailer(tmp_path, daemons):
    n = 3000
    d = daemons(tmp_path, sim_sources(n, 21, rate=1500))
    m = d.metrics()
    assert one(m, "darkdaq_state", state="idle") == 1
    d.ctl("configure")
    d.ctl("start", "--run", "9")

    def mid_run():
        m = d.metrics()
        return m if 0 < one(m, "darkdaq_built_events_total") < n else None
    m = d.wait_for(mid_run, "a scrape in the middle of the run")
    assert one(m, "darkdaq_state", state="running") == 1 and one(m, "darkdaq_run") == 9
    for b in range(4):
        assert one(m, "darkdaq_source_fragments_total", source="board%d" % b) > 0
        assert one(m, "darkdaq_source_bytes_total", source="board%d" % b) > 0
        assert frozenset({"source": "board%d" % b}.items()) in \
            m["darkdaq_source_ring_occupancy_bytes"]
    assert {dict(k)["status"] for k in m["darkdaq_events_total"]} == set(FLAG_COUNTS.values())
    assert one(m, "darkdaq_events_total", status="complete") > 0
    assert {dict(k)["tag"] for k in m["darkdaq_tag_events_total"]} == set(TAGS)
    for name in ("darkdaq_busy", "darkdaq_busy_seconds_total", "darkdaq_storage_held_bytes",
                 "darkdaq_storage_sent_total", "darkdaq_storage_resent_total",
                 "darkdaq_storage_acked_total", "darkdaq_monitor_dropped_total",
                 "darkdaq_source_silences_total", "darkdaq_source_busy_seconds_total",
                 "darkdaq_builder_late_total", "darkdaq_builder_forced_total"):
        assert name in m, name

    d.wait_for(lambda: d.ctl("status")["builder"].get("events") == n, "every event built")
    d.wait_for(lambda: d.ctl("status")["storage"]["held_records"] == 0, "the store caught up")
    r = d.ctl("stop")
    assert r["store_confirmed"] is True, r
    m = d.metrics()
    assert one(m, "darkdaq_state", state="configured") == 1

    recs = list(read_run(str(d.store_dir / "run-000009-000.dkr")))
    trailer = recs[-1].run_trailer
    counts = {c.name: c.value for c in trailer.counts}
    assert counts["events"] == n
    for k, flag in FLAG_COUNTS.items():
        assert one(m, "darkdaq_events_total", status=flag) == counts[k], k
    for k, name in BUILDER_COUNTS.items():
        assert one(m, name + "_total") == counts[k], k
    for by in ("events", "bytes", "timeout"):
        assert one(m, "darkdaq_builder_forced_total", by=by) == counts["forced_by_" + by]
    tags_in_events = dict.fromkeys(TAGS, 0)
    for rec in recs:
        if rec.WhichOneof("body") == "event":
            for f, _ in rec.event.tags.ListFields():
                tags_in_events[f.name] += 1
    for t in TAGS:
        assert one(m, "darkdaq_tag_events_total", tag=t) == counts["tag_" + t] == \
            tags_in_events[t], t
    for b in range(4):
        sid = str(b)
        assert one(m, "darkdaq_builder_source_fragments_total", source_id=sid) == \
            counts["source_%d_fragments" % b]
        assert one(m, "darkdaq_source_fragments_total", source="board%d" % b) == \
            counts["source_%d_fragments" % b]
    assert one(m, "darkdaq_run_records") == len(recs)
    assert one(m, "darkdaq_records_total") == len(recs)
    assert one(m, "darkdaq_storage_acked_total") == len(recs)
    assert one(m, "darkdaq_storage_held_records") == 0


def test_totals_are_cumulative_over_runs_and_run_gauges_reset(tmp_path, daemons):
    """Two runs (and a reset between them): every _total holds both runs'
    counts and never goes down, so a run shorter than a scrape interval still
    shows in rate(); the darkdaq_run_* gauges hold the last run's."""
    n = 400
    d = daemons(tmp_path, sim_sources(n, 5, boards=2))
    trailers, records = [], []
    before = None
    for run in (1, 2):
        d.ctl("configure")
        d.ctl("start", "--run", str(run))
        if before is not None:
            m = d.metrics()
            for name in ("darkdaq_built_events_total", "darkdaq_records_total"):
                assert one(m, name) >= one(before, name), name
            assert one(m, "darkdaq_source_fragments_total", source="board0") >= \
                one(before, "darkdaq_source_fragments_total", source="board0")
        d.wait_for(lambda: d.ctl("status")["builder"].get("events") == n, "run %d built" % run)
        d.wait_for(lambda: d.ctl("status")["storage"]["held_records"] == 0, "store caught up")
        assert d.ctl("stop")["store_confirmed"] is True
        recs = list(read_run(str(d.store_dir / ("run-%06d-000.dkr" % run))))
        records.append(len(recs))
        trailers.append({c.name: c.value for c in recs[-1].run_trailer.counts})
        before = d.metrics()
        if run == 1:
            d.ctl("reset")
    m = before
    assert one(m, "darkdaq_built_events_total") == trailers[0]["events"] + trailers[1]["events"]
    assert one(m, "darkdaq_run_built_events") == trailers[1]["events"] == n
    assert one(m, "darkdaq_records_total") == sum(records)
    assert one(m, "darkdaq_run_records") == records[1]
    for k, flag in FLAG_COUNTS.items():
        assert one(m, "darkdaq_events_total", status=flag) == trailers[0][k] + trailers[1][k]
        assert one(m, "darkdaq_run_events", status=flag) == trailers[1][k]
    for t in TAGS:
        assert one(m, "darkdaq_tag_events_total", tag=t) == \
            trailers[0]["tag_" + t] + trailers[1]["tag_" + t]
        assert one(m, "darkdaq_run_tag_events", tag=t) == trailers[1]["tag_" + t]
    for b in range(2):
        both = trailers[0]["source_%d_fragments" % b] + trailers[1]["source_%d_fragments" % b]
        assert one(m, "darkdaq_builder_source_fragments_total", source_id=str(b)) == both
        # the source was closed by the reset and opened again: still both runs
        assert one(m, "darkdaq_source_fragments_total", source="board%d" % b) == both
    assert one(m, "darkdaq_run") == 2
    assert "darkdaq_run_records_total" not in m


def test_metrics_answer_while_slow_clients_hold_connections(tmp_path, daemons):
    """200 connections from 127.0.0.1 that send half a request head and
    then trickle do not stop a scrape from 127.0.0.2 (a limit per address),
    a client that trickles a header every half second is cut although it is
    never idle (a bound on the time to a whole head), and the run goes on."""
    import http.client
    import select
    d = daemons(tmp_path, sim_sources(0, 8, rate=300, boards=2, events_key=False), store=False)
    port = int(d.metrics_url.split(":")[2].split("/")[0])
    d.metrics()
    d.ctl("configure")
    d.ctl("start", "--run", "4")
    slow = []
    try:
        for _ in range(200):
            c = socket.socket()
            c.setblocking(False)
            c.connect_ex(("127.0.0.1", port))
            slow.append(c)
        # half a request head on each that the kernel connected (beyond the
        # per-address limit the daemon closes them; that is the point)
        _, connected, _ = select.select([], slow, [], 10)
        for c in connected:
            try:
                c.send(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
            except OSError:
                pass
        events = d.ctl("status")["builder"].get("events", 0)
        for _ in range(3):
            h = http.client.HTTPConnection("127.0.0.1", port, timeout=8,
                                           source_address=("127.0.0.2", 0))
            h.request("GET", "/metrics")
            r = h.getresponse()
            assert r.status == 200 and b"darkdaq_state" in r.read()
            h.close()
        # one that is never idle: a header line every half second (pacing
        # the client, not waiting on the daemon); it must be cut while it
        # still trickles
        t = socket.create_connection(("127.0.0.1", port), timeout=30,
                                     source_address=("127.0.0.3", 0))
        t.sendall(b"GET /metrics HTTP/1.1\r\n")
        t.settimeout(0.5)
        end = time.monotonic() + 60
        cut = False
        i = 0
        while time.monotonic() < end and not cut:
            try:
                t.sendall(b"X-Slow-%d: 1\r\n" % i)
                i += 1
                cut = t.recv(4096) == b""
            except socket.timeout:
                pass
            except (ConnectionResetError, BrokenPipeError):
                cut = True
        t.close()
        assert cut, "a trickling client was never cut"
        st = d.ctl("status")
        assert st["state"] == "running" and st["run"] == 4
        d.wait_for(lambda: d.ctl("status")["builder"].get("events", 0) > events,
                   "events still built")
    finally:
        for c in slow:
            c.close()


# ---- (c) sd_notify and the watchdog ----

WATCHDOG_USEC = 200000


def test_sd_notify_ready_watchdog_stopping(tmp_path, daemons):
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    sock.bind(path)

    def child_env():
        # in the child, before exec: WATCHDOG_PID names the daemon itself
        os.environ["NOTIFY_SOCKET"] = path
        os.environ["WATCHDOG_USEC"] = str(WATCHDOG_USEC)
        os.environ["WATCHDOG_PID"] = str(os.getpid())

    def receive(bound_s):
        """(monotonic time, sender pid, text), or None after bound_s."""
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
        d = daemons(tmp_path, sim_sources(0, 5, rate=500, events_key=False),
                    extra="stop_timeout_ms = 10000\n", preexec_fn=child_env)
        msgs = []
        first = receive(30)
        assert first is not None, "no notification\n" + d.daemon_log()
        assert first[1] == d.d.pid and first[2] == "READY=1", first
        # the daemon serves right after READY=1: start a run
        d.ctl("configure")
        assert d.ctl("start", "--run", "12")["state"] == "running"
        t0 = time.monotonic()
        while time.monotonic() - t0 < 2.5:
            m = receive(5)
            assert m is not None, "the daemon went quiet\n" + d.daemon_log()
            msgs.append(m)
        assert all(pid == d.d.pid for _, pid, _ in msgs), {pid for _, pid, _ in msgs}
        beats = [t for t, _, text in msgs if text == "WATCHDOG=1"]
        assert len(beats) >= 10, len(beats)
        gaps = [b - a for a, b in zip(beats, beats[1:])]
        assert max(gaps) < WATCHDOG_USEC / 1e6, max(gaps)
        statuses = [text for _, _, text in msgs if text.startswith("STATUS=")]
        assert statuses[0] == "STATUS=idle", statuses
        assert any(s.startswith("STATUS=running run 12: ") for s in statuses), statuses

        os.kill(d.d.pid, signal.SIGTERM)
        seen = []
        while "STOPPING=1" not in seen:
            m = receive(30)
            assert m is not None, "no STOPPING=1 after SIGTERM: %s\n%s" % (seen, d.daemon_log())
            assert m[1] == d.d.pid
            seen.append(m[2])
        assert d.d.wait(timeout=60) == 0, d.daemon_log()
    finally:
        sock.close()
