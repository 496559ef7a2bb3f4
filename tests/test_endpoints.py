# SPDX-License-Identifier: Apache-2.0
"""Version 2 of the endpoint table (proto/README.md), with real processes:
the default kind of endpoint, ipc:// in a runtime directory of the
service's group, opens for a member of that group and for no one else
(setpriv); tcp:// on loopback without CURVE is refused at load unless
insecure = yes, and logged when allowed; darkdaq-ctl takes options after
the command and says "no answer from ENDPOINT" within its connect check
when nothing listens, while a slow answer still gets the reply timeout."""
import grp
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time

import zmq

from conftest import ipc_endpoints, program, short_dir, wait_listening
from test_live import free_ports, sim_sources

BOUND_S = 60
STRANGER = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
CONNECT = ("import socket, sys\n"
           "s = socket.socket(socket.AF_UNIX)\n"
           "try:\n"
           "    s.connect(sys.argv[1])\n"
           "except OSError as e:\n"
           "    print(e.strerror)\n"
           "    sys.exit(1)\n")


def unused_gid():
    """A group id no group on this system has (no groupadd needed)."""
    for gid in range(47000, 48000):
        try:
            grp.getgrgid(gid)
        except KeyError:
            return gid
    raise AssertionError("no unused gid in 47000..47999")


def member(gid):
    return ["setpriv", "--reuid=65534", "--regid=%d" % gid, "--groups=%d" % gid]


def daemon_text(ep, state, extra=""):
    return ("[daemon]\n" + "".join("%s = %s\n" % kv for kv in ep.items()) +
            "metrics =\nstate_dir = %s\n" % state + extra + sim_sources(0, 3, rate=100))


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=BOUND_S)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def test_default_ipc_sockets_open_for_the_group_only(tmp_path):
    assert os.geteuid() == 0, "this test sets uids and gids: run it as root (CI does)"
    gid = unused_gid()
    top = short_dir()
    os.chmod(top, 0o755)
    # the runtime directory as systemd makes it: owner the service, group
    # its group, 0750 (RuntimeDirectoryMode=)
    rt = top / "run"
    rt.mkdir()
    os.chown(rt, 0, gid)
    os.chmod(rt, 0o750)
    # the unprivileged callers must reach the binary whatever the build
    # directory's modes are
    ctl = top / "darkdaq-ctl"
    shutil.copy(program("darkdaq-ctl"), ctl)
    os.chmod(ctl, 0o755)
    ep = {k: "ipc://%s/%s" % (rt, k) for k in ("control", "monitor", "storage")}
    conf = tmp_path / "d.ini"
    conf.write_text(daemon_text(ep, tmp_path / "state"))
    log = open(tmp_path / "d.log", "w+")
    # the daemon as the unit runs it: the service's group, UMask=0027
    d = subprocess.Popen(["setpriv", "--regid=%d" % gid, "--clear-groups",
                          program("darkdaqd"), "-c", str(conf)], stderr=log,
                         stdout=subprocess.DEVNULL, preexec_fn=lambda: os.umask(0o027))
    try:
        for k in ("control", "monitor", "storage"):
            assert wait_listening(ep[k], d), (tmp_path / "d.log").read_text()
            st = os.stat(rt / k)
            assert stat.S_ISSOCK(st.st_mode) and st.st_gid == gid, (k, st)
            assert stat.S_IMODE(st.st_mode) == 0o770, (k, oct(st.st_mode))
        cmd = [str(ctl), "-e", ep["control"], "status", "--json", "--timeout-ms", "20000"]
        p = subprocess.run(STRANGER + cmd, capture_output=True, text=True, timeout=BOUND_S)
        assert p.returncode == 1 and p.stdout == "", (p.stdout, p.stderr)
        assert "no answer from %s: Permission denied" % ep["control"] in p.stderr, p.stderr
        p = subprocess.run(member(gid) + cmd, capture_output=True, text=True, timeout=BOUND_S)
        assert p.returncode == 0, (p.stdout, p.stderr, (tmp_path / "d.log").read_text())
        assert json.loads(p.stdout)["state"] == "idle"
        for k in ("storage", "monitor"):
            p = subprocess.run(STRANGER + [sys.executable, "-c", CONNECT, str(rt / k)],
                               capture_output=True, text=True, timeout=BOUND_S)
            assert p.returncode == 1 and "Permission denied" in p.stdout, (k, p.stdout, p.stderr)
            p = subprocess.run(member(gid) + [sys.executable, "-c", CONNECT, str(rt / k)],
                               capture_output=True, text=True, timeout=BOUND_S)
            assert p.returncode == 0, (k, p.stdout, p.stderr)
    finally:
        stop(d)
        log.close()
    assert d.returncode == 0, (tmp_path / "d.log").read_text()


def test_the_defaults_are_ipc_sockets_in_the_runtime_directory():
    p = subprocess.run([program("darkdaqd"), "--print-config"], capture_output=True, text=True,
                       timeout=BOUND_S, check=True)
    for k in ("control", "monitor", "storage"):
        assert "%s = ipc:///run/darkdaq/%s " % (k, k) in p.stdout, p.stdout
    assert "insecure = no " in p.stdout
    p = subprocess.run([program("darkdaq-store"), "--help"], capture_output=True, text=True,
                       timeout=BOUND_S, check=True)
    assert "data = ipc:///run/darkdaq/storage " in p.stdout
    for prog in ("darkdaq-ctl", "darkdaq-mon"):
        p = subprocess.run([program(prog), "--help"], capture_output=True, text=True,
                           timeout=BOUND_S, check=True)
        assert "ipc:///run/darkdaq/control" in p.stdout and "--insecure" in p.stdout, prog


def test_tcp_loopback_without_curve_needs_insecure_and_says_so(tmp_path):
    port, store_port = free_ports(2)
    tcp = "tcp://127.0.0.1:%d" % port
    ep = ipc_endpoints()
    ep["control"] = tcp
    conf = tmp_path / "d.ini"
    conf.write_text(daemon_text(ep, tmp_path / "state"))
    p = subprocess.run([program("darkdaqd"), "-c", str(conf)], capture_output=True, text=True,
                       timeout=BOUND_S)
    assert p.returncode == 2, p.stderr
    assert '%s:2: key "control" in [daemon]: %s' % (conf, tcp) in p.stderr, p.stderr
    assert "ipc://" in p.stderr and "insecure = yes" in p.stderr and "require_curve" in p.stderr

    # an abstract ipc socket has no file mode: the same
    abstract = dict(ipc_endpoints(), storage="ipc://@ddq-test-%d" % os.getpid())
    conf.write_text(daemon_text(abstract, tmp_path / "state"))
    p = subprocess.run([program("darkdaqd"), "-c", str(conf)], capture_output=True, text=True,
                       timeout=BOUND_S)
    assert p.returncode == 2 and '%s:4: key "storage"' % conf in p.stderr, p.stderr

    conf.write_text(daemon_text(ep, tmp_path / "state", "insecure = yes\n"))
    log = open(tmp_path / "d.log", "w+")
    d = subprocess.Popen([program("darkdaqd"), "-c", str(conf)], stderr=log,
                         stdout=subprocess.DEVNULL)
    try:
        assert wait_listening(tcp, d), (tmp_path / "d.log").read_text()
        p = subprocess.run([program("darkdaq-ctl"), "-e", tcp, "status"], capture_output=True,
                           text=True, timeout=BOUND_S)
        assert p.returncode == 2 and "--insecure" in p.stderr and tcp in p.stderr, p.stderr
        p = subprocess.run([program("darkdaq-ctl"), "-e", tcp, "--insecure", "status", "--json"],
                           capture_output=True, text=True, timeout=BOUND_S)
        assert p.returncode == 0 and json.loads(p.stdout)["state"] == "idle", p.stderr
    finally:
        stop(d)
        log.close()
    text = (tmp_path / "d.log").read_text()
    assert d.returncode == 0, text
    assert "insecure = yes: control %s is served without CURVE" % tcp in text, text

    store_tcp = "tcp://127.0.0.1:%d" % store_port
    sconf = tmp_path / "s.ini"
    (tmp_path / "store").mkdir()
    sconf.write_text("[store]\ndir = %s\ndata = %s\n" % (tmp_path / "store", store_tcp))
    p = subprocess.run([program("darkdaq-store"), "-c", str(sconf)], capture_output=True,
                       text=True, timeout=BOUND_S)
    assert p.returncode == 2, p.stderr
    assert '%s:3: key "data" in [store]: %s' % (sconf, store_tcp) in p.stderr, p.stderr
    assert "insecure = yes in [store]" in p.stderr and "ipc://" in p.stderr
    sconf.write_text("[store]\ndir = %s\ndata = %s\ninsecure = yes\n" % (tmp_path / "store",
                                                                         store_tcp))
    slog = open(tmp_path / "s.log", "w+")
    s = subprocess.Popen([program("darkdaq-store"), "-c", str(sconf)], stderr=slog,
                         stdout=subprocess.DEVNULL)
    try:
        end = time.monotonic() + BOUND_S
        while "insecure = yes: data %s" % store_tcp not in (tmp_path / "s.log").read_text():
            assert s.poll() is None, (tmp_path / "s.log").read_text()
            assert time.monotonic() < end, (tmp_path / "s.log").read_text()
            try:
                s.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                pass
    finally:
        stop(s)
        slog.close()

    p = subprocess.run([program("darkdaq-mon"), "--no-tty", "--control", tcp],
                       capture_output=True, text=True, timeout=BOUND_S)
    assert p.returncode == 2 and "--insecure" in p.stderr and tcp in p.stderr, p.stderr


def test_ctl_options_after_the_command(tmp_path):
    ep = ipc_endpoints()
    conf = tmp_path / "d.ini"
    # no store: a stop waits this long for it to confirm the trailer
    conf.write_text(daemon_text(ep, tmp_path / "state", "stop_timeout_ms = 500\n"))
    log = open(tmp_path / "d.log", "w+")
    d = subprocess.Popen([program("darkdaqd"), "-c", str(conf)], stderr=log,
                         stdout=subprocess.DEVNULL)

    def ctl(*args):
        return subprocess.run([program("darkdaq-ctl")] + list(args), capture_output=True,
                              text=True, timeout=BOUND_S)
    try:
        assert wait_listening(ep["control"], d), (tmp_path / "d.log").read_text()
        p = ctl("status", "--json", "-e", ep["control"])
        assert p.returncode == 0 and json.loads(p.stdout)["state"] == "idle", p.stderr
        p = ctl("status", "-e", ep["control"])         # the table, not JSON
        assert p.returncode == 0 and "idle" in p.stdout and not p.stdout.startswith("{")
        assert json.loads(ctl("configure", "--endpoint", ep["control"], "--json").stdout)["ok"]
        p = ctl("-e", ep["control"], "start", "--json", "--run", "12")
        assert p.returncode == 0 and json.loads(p.stdout)["run"] == 12, p.stderr
        p = ctl("stop", "--run", "12", "-e", ep["control"])
        assert p.returncode == 2 and "--run and --force go with start only" in p.stderr
        p = ctl("stop", "-e", ep["control"], "--json", "--timeout-ms", "30000")
        assert p.returncode == 0 and json.loads(p.stdout)["state"] == "configured", p.stderr
        p = ctl("-e", ep["control"], "start", "--run", "12", "--json")
        assert p.returncode == 1 and "run 12" in p.stdout, (p.stdout, p.stderr)
        # (run 12's records are still held for the missing store: an older
        # number, forced, goes through)
        p = ctl("start", "--force", "--json", "--run", "11", "-e", ep["control"])
        assert p.returncode == 0 and json.loads(p.stdout)["run"] == 11, (p.stdout, p.stderr)
        assert ctl("stop", "-e", ep["control"]).returncode == 0
        p = ctl("status", "extra", "-e", ep["control"])
        assert p.returncode == 2 and "unexpected argument after the command" in p.stderr
    finally:
        stop(d)
        log.close()


def test_ctl_says_no_answer_at_once_when_nothing_listens(tmp_path):
    ctl = program("darkdaq-ctl")
    absent = "ipc://%s/control" % short_dir()
    # a socket file whose server is gone (a daemon killed): connect refused
    stale_dir = short_dir()
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(stale_dir / "control"))
    s.close()
    stale = "ipc://%s/control" % stale_dir
    tcp = "tcp://127.0.0.1:%d" % free_ports(1)[0]
    for ep, extra, why in ((absent, [], "No such file or directory"),
                           (stale, [], "Connection refused"),
                           (tcp, ["--insecure"], "Connection refused")):
        t0 = time.monotonic()
        # the default reply timeout (15 s) is not what ends it
        p = subprocess.run([ctl, "status", "--json", "-e", ep] + extra, capture_output=True,
                           text=True, timeout=BOUND_S)
        elapsed = time.monotonic() - t0
        assert p.returncode == 1 and p.stdout == "", (ep, p.stdout, p.stderr)
        assert "no answer from %s: %s" % (ep, why) in p.stderr, (ep, p.stderr)
        assert elapsed < 15, (ep, elapsed)


def test_ctl_waits_the_reply_timeout_for_a_slow_answer(tmp_path):
    """Something listens but does not answer (a stop that waits for the
    store): the connect check passes and the reply timeout applies."""
    ep = "ipc://%s/control" % short_dir()
    ctx = zmq.Context.instance()
    rep = ctx.socket(zmq.REP)
    rep.setsockopt(zmq.LINGER, 0)
    rep.bind(ep)
    try:
        t0 = time.monotonic()
        p = subprocess.run([program("darkdaq-ctl"), "stop", "-e", ep, "--timeout-ms", "2500"],
                           capture_output=True, text=True, timeout=BOUND_S)
        elapsed = time.monotonic() - t0
        assert rep.poll(BOUND_S * 1000) and rep.recv() == b"stop"
    finally:
        rep.close()
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert "no answer from darkdaqd at %s within 2500 ms" % ep in p.stderr, p.stderr
    assert elapsed >= 2.5, elapsed
