# SPDX-License-Identifier: Apache-2.0
"""Every channel between hosts, authenticated and watched (tests/netbed.py
hosts): the daemon on a readout host, the store on another, run control and
the monitor on a third, all over CURVE; a store refused for its key or for
a wrong server key, seen on both sides, the daemon holding and then BUSY,
the right store taking the run over; a monitor's key used for control; a
link that goes down and comes back, and one that is too slow.  Every wait
is on the state itself, bounded; every run stops by itself."""
import json
import os
import signal
import subprocess

from conftest import program
from netbed import wait_until
from test_netbed import bed, keygen  # noqa: F401  (the bed fixture, key pairs)
from test_live import replay_reference, summary

TRIGGERS = int(os.environ.get("DARKDAQ_FARM_TRIGGERS", "20000"))


def key_dir(tmp, name, *keys):
    d = tmp / name
    d.mkdir()
    for k in keys:
        (d / (k + ".pub")).write_text((tmp / (k + ".pub")).read_text())
    return d


class Farm:
    """darkdaqd on host "readout" with CURVE on its three sockets, each
    with its own list of allowed keys; stores on host "storage"; ctl and
    the monitor on host "shift"."""

    def __init__(self, tmp, bed, triggers, rate=0, daemon_extra="", heartbeat_ms=1000,
                 loopback=False):
        """loopback: every program on the readout host, on 127.0.0.1, still
        with CURVE (require_curve), to compare with the bed's links."""
        self.tmp, self.bed, self.loopback = tmp, bed, loopback
        keygen(tmp, "server", "other_server", "store", "stranger", "shift", "mon")
        self.ep = {k: "tcp://127.0.0.1:%d" % port if loopback else
                   bed.check_endpoint(bed.endpoint("readout", port))
                   for k, port in (("control", 5555), ("monitor", 5556), ("storage", 5557))}
        if loopback:
            daemon_extra += "\n[auth]\nrequire_curve = yes\n"
        conf = tmp / "darkdaqd.ini"
        conf.write_text(
            "[daemon]\n" + "".join("%s = %s\n" % kv for kv in self.ep.items()) +
            "metrics =\nstate_dir = %s\nheartbeat_ms = %d\n%s\n" % (
                tmp / "state", heartbeat_ms, daemon_extra) +
            ("" if loopback else "[auth]\n") +
            "server_key = %s\ncontrol_clients = %s\nstorage_clients = %s\n"
            "monitor_clients = %s\n" % (
                tmp / "server.key", key_dir(tmp, "control_keys", "shift"),
                key_dir(tmp, "storage_keys", "store"), key_dir(tmp, "monitor_keys", "mon")) +
            "".join("[source.board%d]\ndriver = sim\nboard = %d\nboards = 4\nseed = 17\n"
                    "events = %d\nrate_hz = %g\n" % (k, k, triggers, rate) for k in range(4)))
        self.log_path = tmp / "darkdaqd.log"
        self.log = open(self.log_path, "w")
        self.d = bed.popen("readout", [program("darkdaqd"), "-c", conf], stderr=self.log,
                           stdout=subprocess.DEVNULL)
        self.stores = []
        wait_until(self.status, "the daemon answering over the bed")

    def daemon_log(self):
        self.log.flush()
        return self.log_path.read_text()

    def store(self, name, key="store", server="server", heartbeat_ms=1000):
        d = self.tmp / name
        d.mkdir()
        conf = self.tmp / (name + ".ini")
        conf.write_text("[store]\ndir = %s\ndata = %s\nclient_key = %s\nserver_public_key = %s\n"
                        "heartbeat_ms = %d\nlink_log_ms = 500\n%s" % (
                            d, self.ep["storage"], self.tmp / (key + ".key"),
                            self.tmp / (server + ".pub"), heartbeat_ms,
                            "require_curve = yes\n" if self.loopback else ""))
        log = self.tmp / (name + ".log")
        p = self.bed.popen("readout" if self.loopback else "storage",
                           [program("darkdaq-store"), "-c", conf],
                           stderr=open(log, "w"), stdout=subprocess.DEVNULL)
        self.stores.append(p)
        return p, d, log

    def ctl(self, *cmd, key="shift", timeout_ms=20000):
        return self.bed.run("readout" if self.loopback else "shift", [program("darkdaq-ctl"), "--endpoint", self.ep["control"],
                                      "--json", "--timeout-ms", timeout_ms, "--client-key",
                                      self.tmp / (key + ".key"), "--server-public-key",
                                      self.tmp / "server.pub"] +
                            (["--require-curve"] if self.loopback else []) + list(cmd),
                            capture_output=True, text=True)

    def status(self):
        assert self.d.poll() is None, self.daemon_log()
        p = self.ctl("status")
        return json.loads(p.stdout) if p.returncode == 0 else None

    def ok(self, *cmd):
        p = self.ctl(*cmd)
        assert p.returncode == 0, (cmd, p.stdout, p.stderr, self.daemon_log())
        return json.loads(p.stdout)


def events_in(store_dir, run):
    """{trigger: (status, tags)} over every file of the run, each trigger once."""
    out = {}
    for f in sorted(store_dir.glob("run-%06d-*.dkr" % run)):
        ev, _, _ = summary(f)
        for t in ev:
            assert t not in out, "trigger %d in two files" % t
        out.update(ev)
    return out


def read(path):
    with open(path) as f:
        return f.read()


def test_readout_store_and_shift_on_three_hosts_over_curve(tmp_path, bed):
    b = bed("readout", "storage", "shift")
    farm = Farm(tmp_path, b, TRIGGERS)
    _, store_dir, store_log = farm.store("store")
    mon_json = tmp_path / "hist.json"
    mon = b.popen("shift", [program("darkdaq-mon"), "--no-tty", "--control", farm.ep["control"],
                            "--monitor", farm.ep["monitor"], "--client-key",
                            tmp_path / "mon.key", "--server-public-key", tmp_path / "server.pub",
                            "--export-json", mon_json],
                  stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    wait_until(lambda: farm.status()["links"]["storage"]["connected"] == 1, "the store's link")
    farm.ok("configure")
    farm.ok("start", "--run", "3")
    wait_until(lambda: farm.status()["builder"].get("events") == TRIGGERS, "every event built",
               bound_s=300)
    wait_until(lambda: farm.status()["storage"]["held_records"] == 0, "the store caught up",
               bound_s=300)
    r = farm.ok("stop")
    assert r["store_confirmed"] is True, r
    st = farm.status()
    links = st["links"]
    # where the peers are: the store's and the monitor's addresses, not the bind's
    assert links["storage"]["peer"].startswith(b.addr("storage") + ":"), links
    assert links["monitor"]["peer"].startswith(b.addr("shift") + ":"), links
    assert links["storage"]["refused_auth"] == 0 and links["storage"]["refused_protocol"] == 0
    # traffic each way: every record went out, ACKs came back, status was asked
    assert links["storage"]["msgs_out"] >= TRIGGERS + 2 and links["storage"]["msgs_in"] >= 1
    assert links["storage"]["bytes_out"] > 100 * TRIGGERS
    assert links["control"]["msgs_in"] >= 3 and links["control"]["msgs_out"] >= 3
    assert links["monitor"]["msgs_out"] >= 1
    live = events_in(store_dir, 3)
    assert sorted(live) == list(range(1, TRIGGERS + 1))
    ref, _, _ = summary(replay_reference(tmp_path, TRIGGERS, 17))
    assert live == ref
    # the monitor on the third host received the run's samples over CURVE
    mon.send_signal(signal.SIGTERM)
    mon.wait(timeout=60)
    hist = json.loads(read(mon_json))
    assert hist and "connected to %s" % b.addr("readout") in read(store_log)
    assert any(h.get("entries", 0) or sum(h.get("counts", [])) for h in
               (hist.get("histograms") or [])), hist.keys()


def test_refused_stores_are_seen_on_both_sides_and_the_right_one_takes_over(tmp_path, bed):
    n = 3000
    b = bed("readout", "storage", "shift")
    farm = Farm(tmp_path, b, n, rate=1500, daemon_extra="storage_buffer_bytes = 1048576\n"
                "storage_warn_ms = 500\n")
    farm.ok("configure")
    farm.ok("start", "--run", "8")
    # a store whose key the daemon does not allow
    p1, d1, log1 = farm.store("stranger_store", key="stranger")
    st = wait_until(lambda: (lambda s: s if s["links"]["storage"]["refused_auth"] >= 1
                             else None)(farm.status()), "the stranger refused")
    wait_until(lambda: "refused: its client key is not allowed" in farm.daemon_log(),
               "the daemon's log line")
    wait_until(lambda: "handshake failed" in read(log1), "the stranger store's log line")
    p1.terminate()
    p1.wait(timeout=60)
    # a store that does not know the daemon's public key
    p2, d2, log2 = farm.store("confused_store", server="other_server")
    wait_until(lambda: farm.status()["links"]["storage"]["refused_protocol"] >= 1,
               "the wrong server key refused")
    wait_until(lambda: "handshake failed (wrong server key?" in read(log2),
               "the confused store's log line")
    # the daemon holds everything, then throttles the boards; status says why
    st = wait_until(lambda: (lambda s: s if s["busy"] else None)(farm.status()), "BUSY")
    assert st["storage"]["session"] == 0 and st["storage"]["acked"] == 0, st["storage"]
    st = wait_until(lambda: (lambda s: s if s["storage"]["gone"] else None)(farm.status()),
                    "status saying no store takes the records")
    assert st["links"]["storage"]["connected"] == 0
    p2.terminate()
    p2.wait(timeout=60)
    for d in (d1, d2):
        assert list(d.glob("*.dkr*")) == [], "a refused store wrote " + str(list(d.iterdir()))
    # the right store takes the run over with nothing lost
    _, d3, _ = farm.store("store")
    wait_until(lambda: farm.status()["builder"].get("events") == n, "every event built",
               bound_s=300)
    wait_until(lambda: farm.status()["storage"]["held_records"] == 0, "the store caught up",
               bound_s=300)
    r = farm.ok("stop")
    assert r["store_confirmed"] is True, r
    assert sorted(events_in(d3, 8)) == list(range(1, n + 1))
    assert farm.status()["storage"]["gone"] is False


def test_a_monitor_key_cannot_run_control(tmp_path, bed):
    b = bed("readout", "storage", "shift")
    farm = Farm(tmp_path, b, 100)
    farm.ok("configure")
    # the monitor's key reaches the control socket for status only
    p = farm.ctl("status", key="mon")
    assert p.returncode == 0 and json.loads(p.stdout)["state"] == "configured", p.stderr
    p = farm.ctl("reset", key="mon")
    assert p.returncode != 0 and "monitor's key" in p.stdout + p.stderr, (p.stdout, p.stderr)
    assert farm.status()["state"] == "configured"
    wait_until(lambda: "control: reset refused: the client's key is a monitor's" in
               farm.daemon_log(), "the daemon's log line")
    # a key on no list is refused at the handshake, and counted
    before = farm.status()["links"]["control"]["refused_auth"]
    p = farm.ctl("reset", key="stranger", timeout_ms=1500)
    assert p.returncode != 0
    wait_until(lambda: farm.status()["links"]["control"]["refused_auth"] > before,
               "the refusal counted on the control socket")
    assert farm.status()["state"] == "configured"


def test_a_link_down_is_reported_gone_and_back_and_nothing_is_lost(tmp_path, bed):
    n = 6000
    b = bed("readout", "storage", "shift")
    farm = Farm(tmp_path, b, n, rate=1000, heartbeat_ms=500)
    _, d, log = farm.store("store", heartbeat_ms=500)
    wait_until(lambda: farm.status()["links"]["storage"]["connected"] == 1, "the store's link")
    farm.ok("configure")
    farm.ok("start", "--run", "5")
    wait_until(lambda: farm.status()["storage"]["acked"] > 500, "the store taking records")
    b.link("storage", up=False)
    st = wait_until(lambda: (lambda s: s if s["links"]["storage"]["gone"] else None)(
        farm.status()), "the storage link reported gone")
    assert st["links"]["storage"]["connected"] == 0
    wait_until(lambda: "gone (connection closed" in farm.daemon_log(), "the daemon's log line")
    wait_until(lambda: "link GONE" in read(log), "the store's own report")
    b.link("storage", up=True)
    wait_until(lambda: farm.status()["links"]["storage"]["connected"] == 1, "the link back",
               bound_s=120)
    wait_until(lambda: farm.status()["builder"].get("events") == n, "every event built",
               bound_s=300)
    wait_until(lambda: farm.status()["storage"]["held_records"] == 0, "the store caught up",
               bound_s=300)
    r = farm.ok("stop")
    assert r["store_confirmed"] is True, r
    assert sorted(events_in(d, 5)) == list(range(1, n + 1))


def rss_peak_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def test_a_slow_link_means_busy_and_nothing_lost(tmp_path, bed):
    n = 6000
    b = bed("readout", "storage", "shift")
    buf = 1 << 20
    farm = Farm(tmp_path, b, n, rate=2000,
                daemon_extra="storage_buffer_bytes = %d\n" % buf)
    store, d, _ = farm.store("store")
    # 2000 events/s of the mix are about 1 MB/s: a link of 4 Mbit/s is half
    b.limit("storage", "4mbit")
    farm.ok("configure")
    farm.ok("start", "--run", "6")
    wait_until(lambda: farm.status()["builder"].get("events") == n, "every event built",
               bound_s=600)
    wait_until(lambda: farm.status()["storage"]["held_records"] == 0, "the store caught up",
               bound_s=600)
    st = farm.status()
    assert st["storage"]["max_held_bytes"] <= buf
    # the boards were throttled (BUSY) for a while, by the link alone
    assert all(src["busy_ms"] > 0 for src in st["sources"]), st["sources"]
    r = farm.ok("stop")
    assert r["store_confirmed"] is True, r
    assert sorted(events_in(d, 6)) == list(range(1, n + 1))
    # memory stays bounded: the window is preallocated, the store holds one
    # record at a time (peaks printed for the note)
    daemon_kib, store_kib = rss_peak_kib(farm.d.pid), rss_peak_kib(store.pid)
    print("peak RSS over a slow link: darkdaqd %d KiB (window %d KiB), store %d KiB" % (
        daemon_kib, buf >> 10, store_kib))
    assert daemon_kib < (buf >> 10) + 512 * 1024 and store_kib < 256 * 1024
