# SPDX-License-Identifier: Apache-2.0
"""netbed: several hosts on one machine, for tests of what crosses a network.

Each host is a Linux network namespace with its own loopback, joined by a
veth pair to a bridge that lives in a namespace of its own.  Host k has the
address 10.213.0.k/24; addresses exist only inside the bed's namespaces and
no namespace has a default route, so nothing a test sends can leave the
bed.  Programs run in a host with `ip netns exec` (bed.popen / bed.run).

Faults: a host's link goes down and up (bed.link), or is limited with a
token bucket (bed.limit, `tc qdisc ... tbf`, both directions).  ipc://
sockets would cross hosts through the shared file system, so the endpoints
a test uses between hosts are checked with bed.endpoint / bed.check_endpoint.

Names are ddq<pid>x<n>-<host> (the creating process's pid, a bed number):
every bed removes its namespaces and the processes it started when it
closes (with-block, pytest fixture, atexit), and a new bed first sweeps the
namespaces of processes that no longer run (a killed test run).  A bed has
at most MAX_HOSTS hosts, and every wait in it is bounded."""
import atexit
import itertools
import os
import re
import signal
import subprocess
import time

MAX_HOSTS = 16
SUBNET = "10.213.0"
_NAME = re.compile(r"^ddq(\d+)x(\d+)-")
_counter = itertools.count()
_open_beds = []


def _ip(*args, check=True, ns=None):
    cmd = ["ip"] + (["-n", ns] if ns else []) + list(args)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    if check and p.returncode != 0:
        raise RuntimeError("netbed: %s: %s" % (" ".join(cmd), p.stderr.strip()))
    return p


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def namespaces():
    """Every namespace name `ip netns list` shows."""
    out = _ip("netns", "list").stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def sweep():
    """Removes the namespaces of beds whose process no longer runs; returns
    how many."""
    n = 0
    for name in namespaces():
        m = _NAME.match(name)
        if m and not _alive(int(m.group(1))):
            _ip("netns", "del", name, check=False)
            n += 1
    return n


class NetBed:
    """A bed of hosts named in hosts (short names: letters and digits)."""

    def __init__(self, hosts):
        hosts = list(hosts)
        if not 1 <= len(hosts) <= MAX_HOSTS or len(set(hosts)) != len(hosts):
            raise ValueError("netbed: 1..%d distinct hosts" % MAX_HOSTS)
        for h in hosts:
            if not re.fullmatch(r"[a-z][a-z0-9]{0,9}", h):
                raise ValueError("netbed: host name %r: 1-10 of a-z 0-9" % h)
        sweep()
        self.prefix = "ddq%dx%d-" % (os.getpid(), next(_counter))
        self.hosts = hosts
        self.procs = []
        self._made = []
        self._addr = {h: "%s.%d" % (SUBNET, k + 1) for k, h in enumerate(hosts)}
        _open_beds.append(self)
        try:
            self._build()
        except BaseException:
            self.close()
            raise

    # ---- plumbing ----

    def ns(self, host):
        """The namespace of host (or of the bridge, host None)."""
        return self.prefix + (host if host else "br")

    def _dev(self, host, side):
        # interface names are at most 15 characters
        return "v%s%d%s" % (host, self.hosts.index(host), side)

    def _build(self):
        br = self.ns(None)
        _ip("netns", "add", br)
        self._made.append(br)
        _ip("link", "add", "br0", "type", "bridge", ns=br)
        _ip("link", "set", "br0", "up", ns=br)
        for h in self.hosts:
            ns = self.ns(h)
            _ip("netns", "add", ns)
            self._made.append(ns)
            _ip("link", "set", "lo", "up", ns=ns)
            inner, outer = self._dev(h, "i"), self._dev(h, "o")
            _ip("link", "add", inner, "netns", ns, "type", "veth", "peer", "name", outer,
                "netns", br)
            _ip("link", "set", outer, "master", "br0", ns=br)
            _ip("link", "set", outer, "up", ns=br)
            _ip("addr", "add", self._addr[h] + "/24", "dev", inner, ns=ns)
            _ip("link", "set", inner, "up", ns=ns)
        for h in self.hosts:
            # no route but the bed's own subnet: nothing leaves the bed
            assert _ip("route", "show", "default", ns=self.ns(h)).stdout.strip() == ""

    def addr(self, host):
        return self._addr[host]

    def endpoint(self, host, port):
        """tcp://ADDRESS:PORT of host: the form every endpoint between two
        hosts of the bed takes."""
        return "tcp://%s:%d" % (self._addr[host], port)

    def check_endpoint(self, ep):
        """Asserts that ep is a tcp:// endpoint on an address of the bed
        (ipc:// would cross hosts through the file system)."""
        m = re.fullmatch(r"tcp://([0-9.]+):(\d+)", ep)
        assert m and m.group(1) in self._addr.values(), \
            "%s is not a tcp:// endpoint on a host of the bed (%s)" % (ep, self._addr)
        return ep

    # ---- programs ----

    def argv(self, host, argv):
        return ["ip", "netns", "exec", self.ns(host)] + [str(a) for a in argv]

    def popen(self, host, argv, **kw):
        """Starts argv in host; the bed kills it when it closes."""
        p = subprocess.Popen(self.argv(host, argv), **kw)
        self.procs.append(p)
        return p

    def run(self, host, argv, timeout=120, **kw):
        return subprocess.run(self.argv(host, argv), timeout=timeout, **kw)

    # ---- faults ----

    def link(self, host, up):
        """Takes host's link to the bridge down (up=False) or up: the cable."""
        _ip("link", "set", self._dev(host, "o"), "up" if up else "down", ns=self.ns(None))

    def limit(self, host, rate, burst="32kbit", latency="200ms"):
        """Limits host's link to rate (tc syntax: 2mbit) both ways; rate None
        removes the limit."""
        for ns, dev in ((self.ns(host), self._dev(host, "i")),
                        (self.ns(None), self._dev(host, "o"))):
            subprocess.run(["tc", "-n", ns, "qdisc", "del", "dev", dev, "root"],
                           capture_output=True, timeout=30)
            if rate:
                p = subprocess.run(["tc", "-n", ns, "qdisc", "add", "dev", dev, "root", "tbf",
                                    "rate", rate, "burst", burst, "latency", latency],
                                   capture_output=True, text=True, timeout=30)
                if p.returncode != 0:
                    raise RuntimeError("netbed: tc tbf on %s: %s" % (dev, p.stderr.strip()))

    # ---- the end ----

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.kill(p.pid, signal.SIGCONT)
                    p.terminate()
                    p.wait(timeout=20)
                except (subprocess.TimeoutExpired, ProcessLookupError):
                    p.kill()
                    p.wait(timeout=20)
        self.procs = []
        for ns in reversed(self._made):
            _ip("netns", "del", ns, check=False)
        self._made = []
        if self in _open_beds:
            _open_beds.remove(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@atexit.register
def _close_all():
    for bed in list(_open_beds):
        bed.close()


def wait_until(cond, what, bound_s=60, step_s=0.05):
    """Polls cond() until it is true; fails after bound_s (only a hang)."""
    end = time.monotonic() + bound_s
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(step_s)
