# SPDX-License-Identifier: Apache-2.0
"""darkdaq-mon end to end, as the shift crew uses it: the terminal view under
tmux (numbers equal to the daemon's status, `q` restores the terminal, an
unreachable daemon is said so and recovered from), the web page in headless
Chromium (histograms drawn as SVG bars; a screenshot kept), a stopped
monitor that does not slow the daemon, and the histogram export files.

Real processes on loopback: darkdaqd with simulated boards and a store, as in
test_live.py.  No test sleeps: each polls its condition with a generous
bound (waiting on a process or an Event between polls).  Needs the Debian
packages tmux and chromium."""
import csv
import io
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.request

import pytest

from conftest import program
from test_live import Live, free_ports, sim_sources

MON_HISTS = ["zprime_recoil_m_gev", "e_miss_gev", "four_muon_dimuon_m_gev",
             "displaced_r_xy_cm"]


def wait_until(cond, what, bound_s=60, procs=()):
    """Polls cond() until it returns something true; fails after bound_s or
    when one of procs (those that must stay alive) exits."""
    end = time.monotonic() + bound_s
    pause = threading.Event()
    while True:
        v = cond()
        if v:
            return v
        assert time.monotonic() < end, "timed out after %d s waiting for %s" % (bound_s, what)
        for p in procs:
            assert p.poll() is None, "%s exited (%s) while waiting for %s" % (
                p.args[0], p.returncode, what)
        pause.wait(0.05)


@pytest.fixture
def live(tmp_path):
    made = []

    def make(*a, **k):
        # Live turns the metrics endpoint off itself (a second "metrics ="
        # would be a key given twice)
        lv = Live(tmp_path, *a, **k)
        made.append(lv)
        return lv
    yield make
    for lv in made:
        lv.close()


class Mon:
    """darkdaq-mon --no-tty --http on a free port, with its stderr kept."""

    def __init__(self, tmp, lv, *extra):
        self.port = free_ports(1)[0]
        self.url = "http://127.0.0.1:%d/" % self.port
        self.log = open(tmp / "mon.log", "w+")
        self.p = subprocess.Popen(
            [program("darkdaq-mon"), "--control", lv.ep["control"], "--monitor",
             lv.ep["monitor"], "--no-tty", "--http", "127.0.0.1:%d" % self.port] + list(extra),
            stdout=subprocess.DEVNULL, stderr=self.log)
        wait_until(self.answers, "darkdaq-mon's web server", procs=[self.p])

    def answers(self):
        try:
            return self.get("status.json")
        except OSError:
            return None

    def get(self, path):
        with urllib.request.urlopen(self.url + path, timeout=10) as r:
            body = r.read().decode()
        return json.loads(body) if path.endswith(".json") else body

    def stop(self):
        if self.p.poll() is None:
            os.kill(self.p.pid, signal.SIGCONT)
            self.p.terminate()
            self.p.wait(timeout=30)
        self.log.flush()
        self.log.seek(0)
        return self.log.read()


@pytest.fixture
def mon_factory(tmp_path):
    made = []

    def make(*a, **k):
        m = Mon(tmp_path, *a, **k)
        made.append(m)
        return m
    yield make
    for m in made:
        m.stop()
        m.log.close()


# ---- (a) the terminal view under tmux ----

class Tmux:
    """One tmux server of our own (its own socket), one 120x50 window."""

    def __init__(self, command):
        assert shutil.which("tmux"), "tmux is needed: apt-get install tmux"
        self.sock = "darkdaq-mon-test-%d" % os.getpid()
        subprocess.run(["tmux", "-L", self.sock, "kill-server"], capture_output=True)
        subprocess.run(["tmux", "-L", self.sock, "-f", "/dev/null", "new-session", "-d",
                        "-s", "mon", "-x", "120", "-y", "50", command], check=True)

    def screen(self):
        p = subprocess.run(["tmux", "-L", self.sock, "capture-pane", "-p", "-t", "mon"],
                           capture_output=True, text=True)
        return p.stdout

    def keys(self, *keys):
        subprocess.run(["tmux", "-L", self.sock, "send-keys", "-t", "mon"] + list(keys),
                       check=True)

    def wait_screen(self, pattern, what, bound_s=60, procs=()):
        rx = re.compile(pattern, re.M)
        last = [""]

        def look():
            last[0] = self.screen()
            return rx.search(last[0])
        try:
            return wait_until(look, what, bound_s, procs)
        except AssertionError as e:
            raise AssertionError("%s\n--- the screen:\n%s" % (e, last[0])) from None

    def close(self):
        subprocess.run(["tmux", "-L", self.sock, "kill-server"], capture_output=True)


def test_terminal_view_follows_the_daemon(tmp_path, live):
    lv = live(sim_sources(0, 4, rate=1000))
    export = tmp_path / "hist.json"
    mon = [program("darkdaq-mon"), "--control", lv.ep["control"], "--monitor",
           lv.ep["monitor"], "--timeout-ms", "500", "--export-json", str(export)]
    # after darkdaq-mon the shell prints its exit status and the terminal's
    # mode, then waits, so that the pane stays for us to read
    script = tmp_path / "run-mon.sh"
    script.write_text("%s\necho \"darkdaq-mon exited with $?\"\nstty -a | tr ' ;' '\\n\\n' | "
                      "grep -x -e -icanon -e icanon -e -echo -e echo | tr '\\n' ' '\necho\n"
                      "exec cat\n" % " ".join("'%s'" % a for a in mon))
    tm = Tmux("sh %s" % script)
    try:
        tm.wait_screen(r"^RUN 0  idle", "the idle daemon on screen", procs=[lv.d])
        lv.ctl("configure")
        assert lv.ctl("start", "--run", "7")["run"] == 7
        m = tm.wait_screen(r"^RUN 7  running .* events ([1-9]\d*) ", "run 7 running, events",
                           procs=[lv.d])
        assert int(m.group(1)) <= lv.status()["builder"]["events"]
        screen = tm.wait_screen(r"^board3 +sim +\d+\.\d +[0-9.]+ +[1-9]\d* ",
                                "a source's rate and fragments").string
        assert "alarms   none" in screen
        tm.wait_screen(r"zprime_invisible: recoil mass  n=[1-9]", "the Z' histogram filling")
        tm.wait_screen(r"^zprime_invisible +[1-9]\d* +\d+\.\d\d", "the tag counters")

        r = lv.ctl("stop")
        assert r["state"] == "configured"
        st = lv.status()
        final = st["builder"]["events"]
        assert final > 0
        screen = tm.wait_screen(r"^RUN 7  configured .* events %d " % final,
                                "the final event count %d" % final).string
        # per-tag counts on screen are the daemon's exact counters
        for tag, v in st["tags"].items():
            assert re.search(r"\b%s +%d +" % (tag, v["count"]), screen), (tag, screen)
        # every event of the run went through the monitor stream: 100% sampled
        tm.wait_screen(r"histograms of run 7 from the monitor stream: %d of %d events seen, "
                       r"sampled 100\.0%%" % (final, final), "the sampling fraction")

        tm.keys("e")
        wait_until(export.exists, "the export on `e`")
        assert json.loads(export.read_text())["run"] == 7

        lv.d.kill()
        lv.d.wait(timeout=30)
        tm.wait_screen(r"daemon unreachable at %s \(last answer \d+ s ago\)"
                       % re.escape(lv.ep["control"]), "the unreachable message")
        lv.d = subprocess.Popen([program("darkdaqd"), "-c", str(lv.conf)], stderr=lv.log,
                                stdout=subprocess.DEVNULL)
        # the restarted daemon knows its last run from its state_dir
        screen = tm.wait_screen(r"^RUN 7  idle", "recovery after the restart",
                                procs=[lv.d]).string
        assert "unreachable" not in screen

        tm.keys("q")
        m = tm.wait_screen(r"darkdaq-mon exited with (\d+)\n(-?icanon.*)", "exit on q")
        screen = m.string
        assert m.group(1) == "0"
        assert m.group(2).split() == ["icanon", "echo"], screen    # terminal mode restored
        assert "RUN 7" not in screen                               # the main screen is back
    finally:
        tm.close()


# ---- (b) the web page in headless Chromium ----

def chromium(*args):
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    assert exe, "chromium is needed: apt-get install chromium"
    profile = tempfile.mkdtemp(prefix="darkdaq-mon-chromium-")
    try:
        p = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                            "--no-first-run", "--disable-background-networking",
                            "--disable-component-update", "--disable-sync",
                            "--user-data-dir=" + profile] + list(args),
                           capture_output=True, text=True, timeout=120)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return p


def test_web_page_draws_the_histograms(tmp_path, live, mon_factory):
    lv = live(sim_sources(0, 6, rate=1500))
    mon = mon_factory(lv)
    page = mon.get("")
    assert "src=\"http" not in page and "href=\"http" not in page     # nothing from elsewhere
    lv.ctl("configure")
    lv.ctl("start", "--run", "3")
    wait_until(lambda: all(h["entries"] > 20 for h in mon.get("histograms.json")["histograms"]),
               "every histogram filling", procs=[lv.d, mon.p])

    p = chromium("--dump-dom", "--virtual-time-budget=5000", mon.url)
    assert p.returncode == 0, p.stderr
    dom = p.stdout
    # the header shows the run, running
    assert re.search(r'id="run">3<', dom), dom[:2000]
    assert re.search(r'id="state" class="running">running<', dom)
    for name in MON_HISTS:
        svg = re.search(r'<svg[^>]*id="svg-%s".*?</svg>' % name, dom, re.S)
        assert svg, "no SVG for " + name
        heights = [float(h) for h in re.findall(r'<rect class="bar"[^>]* height="([0-9.]+)"',
                                                svg.group(0))]
        assert heights and max(heights) > 50, (name, heights[:10])
    # the alarm strip is filled in (what it says depends on the machine's load:
    # a busy machine makes the simulated boards late)
    assert re.search(r'<div id="alarms"><span class="(ok">none|alarm">ALARM )', dom), dom[:3000]
    assert re.search(r'id="sampling">run 3, \d+ of \d+ events seen \(\d+\.\d% sampled\)', dom)

    shot = tmp_path / "darkdaq-mon-page.png"
    p = chromium("--screenshot=%s" % shot, "--window-size=1200,1400",
                 "--virtual-time-budget=5000", mon.url)
    assert p.returncode == 0 and shot.exists() and shot.stat().st_size > 10000, p.stderr
    print("screenshot of the web page:", shot)
    lv.ctl("stop")


# ---- (c) a stopped monitor does not slow the daemon ----

def test_stopped_monitor_does_not_slow_the_daemon(tmp_path, live, mon_factory):
    rate = 2000
    lv = live(sim_sources(0, 9, rate=rate), daemon_extra="monitor_hwm = 50\n")
    mon = mon_factory(lv)
    lv.ctl("configure")
    lv.ctl("start", "--run", "1")
    wait_until(lambda: mon.get("status.json")["mon"]["events_seen"] > 1000,
               "the monitor receiving events", procs=[lv.d, mon.p])
    before = lv.wait_for(lambda: (lambda s: s if s["builder"]["event_rate_hz"] > 0.9 * rate
                                  else None)(lv.status()), "the full event rate")

    os.kill(mon.p.pid, signal.SIGSTOP)
    # a stopped monitor's samples are dropped at the high-water mark and
    # counted, and once it has missed three heartbeats its connection is
    # closed and it is reported gone; either way the daemon does not wait
    def lost(s):
        return (s["monitor"]["dropped"] > before["monitor"]["dropped"] + rate // 2 or
                s["links"]["monitor"]["disconnects"] > before["links"]["monitor"]["disconnects"])
    first = lv.wait_for(lambda: (lambda s: s if lost(s) else None)(lv.status()),
                        "the daemon dropping monitor samples or the monitor's link")
    # from here on the monitor takes nothing; the daemon goes on at full pace
    stuck = lv.wait_for(lambda: (lambda s: s if s["builder"]["events"] >
                                 first["builder"]["events"] + 3 * rate else None)(lv.status()),
                        "3 s worth of events while the monitor is stopped")
    assert stuck["monitor"]["dropped"] > before["monitor"]["dropped"] or \
        stuck["links"]["monitor"]["gone"] or \
        stuck["links"]["monitor"]["disconnects"] > before["links"]["monitor"]["disconnects"]
    # the daemon kept up with its boards: no source ever found its ring to
    # the core full while the monitor was stopped (a speed would depend on
    # how busy the machine is; a full ring is the daemon falling behind)
    assert [s["ring_waits"] for s in stuck["sources"]] == \
        [s["ring_waits"] for s in first["sources"]], (first["sources"], stuck["sources"])
    assert stuck["busy"] is False and all(not s["busy"] for s in stuck["sources"])
    assert stuck["storage"]["held_records"] < 2 * rate    # the store keeps up too

    os.kill(mon.p.pid, signal.SIGCONT)
    # it comes back by itself and says that it missed events
    s = wait_until(lambda: (lambda x: x if x["mon"]["reachable"] and
                            x["mon"]["sampled_fraction"] < 1 else None)(
        mon.get("status.json")), "the monitor back, saying it missed events",
        procs=[lv.d, mon.p])
    if stuck["monitor"]["dropped"] > before["monitor"]["dropped"]:
        s = wait_until(lambda: (lambda x: x if any(a["name"] == "monitor.dropped"
                                                   for a in x["mon"]["alarms"]) else None)(
            mon.get("status.json")), "the monitor.dropped ALARM", procs=[lv.d, mon.p])
    lv.ctl("stop")


# ---- (d) the histograms export ----

def test_export_json_and_csv(tmp_path, live, mon_factory):
    n = 3000
    lv = live(sim_sources(n, 12, rate=3000))
    js, cs = tmp_path / "h.json", tmp_path / "h.csv"
    mon = mon_factory(lv, "--export-json", str(js), "--export-csv", str(cs))
    lv.ctl("configure")
    lv.ctl("start", "--run", "4")
    lv.wait_for(lambda: lv.status()["builder"].get("events") == n, "every event built")
    lv.ctl("stop")
    # SIGUSR1 exports while running; the numbers settle on the next status
    wait_until(lambda: mon.get("status.json")["mon"]["events_counted"] == n,
               "the monitor seeing the final count", procs=[mon.p])
    os.kill(mon.p.pid, signal.SIGUSR1)
    wait_until(lambda: js.exists() and cs.exists(), "export on SIGUSR1", procs=[mon.p])
    live_h = mon.get("histograms.json")
    assert "exported histograms to" in mon.stop()       # and again on exit
    h = json.loads(js.read_text())
    assert h == live_h
    assert h["run"] == 4 and h["events_counted"] == n
    seen = h["events_seen"]
    assert 0 < seen <= n
    assert h["sampled_fraction"] == pytest.approx(seen / n, abs=1e-6)
    assert [x["name"] for x in h["histograms"]] == MON_HISTS
    for x in h["histograms"]:
        assert len(x["edges"]) == len(x["counts"]) + 1
        assert all(a < b for a, b in zip(x["edges"], x["edges"][1:]))
        assert sum(x["counts"]) == x["entries"] > 0
        assert x["sampled_fraction"] == h["sampled_fraction"]
    emiss = h["histograms"][1]
    assert emiss["entries"] + emiss["underflow"] + emiss["overflow"] + emiss["nan"] == seen

    rows = list(csv.DictReader(io.StringIO(cs.read_text())))
    assert list(rows[0].keys()) == ["name", "low", "high", "count", "run", "sampled_fraction"]
    for x in h["histograms"]:
        mine = [r for r in rows if r["name"] == x["name"]]
        assert [int(r["count"]) for r in mine] == x["counts"]
        assert sum(int(r["count"]) for r in mine) == x["entries"]
        assert [float(r["low"]) for r in mine] == x["edges"][:-1]
        assert [float(r["high"]) for r in mine] == x["edges"][1:]
        assert all(r["run"] == "4" for r in mine)


def test_usage(tmp_path):
    mon = program("darkdaq-mon")
    p = subprocess.run([mon, "--help"], capture_output=True, text=True)
    assert p.returncode == 0 and "--export-csv" in p.stdout and "q quit" in p.stdout
    assert subprocess.run([mon, "--version"], capture_output=True, text=True).stdout.startswith(
        "darkdaq-mon ")
    assert subprocess.run([mon, "--frobnicate"], capture_output=True).returncode == 2
    # no terminal and no --no-tty: says why
    p = subprocess.run([mon], capture_output=True, text=True, stdin=subprocess.DEVNULL,
                       timeout=30)
    assert p.returncode == 2 and "--no-tty" in p.stderr
    p = subprocess.run([mon, "--no-tty", "--http", "nonsense"], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 1 and "nonsense" in p.stderr
