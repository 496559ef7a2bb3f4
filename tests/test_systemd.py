# SPDX-License-Identifier: Apache-2.0
"""The files in systemd/: both unit templates, filled in, pass `systemd-analyze
verify` without a single warning (it needs each ExecStart binary to exist, so
a copy of the unit runs the built one), keep their sandbox and watchdog
settings; the sysusers entry creates user and group darkdaq in a scratch
root; the udev rule gives the 1209:0001 board to group darkdaq.  Installing:
`make install PREFIX=/usr DESTDIR=...` into a package root puts every file
where systemd, udev and man look, its units verify inside that root, and
`make uninstall` takes it all away again.  Manual pages: one for every
program, each renders without a warning and names every option of the
program's --help."""
import os
import re
import shutil
import subprocess

import pytest

from conftest import BUILD, ROOT, program

SYSTEMD = ROOT / "systemd"
UNITS = {"darkdaqd.service": "darkdaqd", "darkdaq-store.service": "darkdaq-store"}


def read_unit(path):
    """The unit's [Service] settings: key -> list of values (keys repeat)."""
    settings = {}
    section = None
    for line in unit_text(path).splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        settings.setdefault((section, key), []).append(value)
    return settings


def unit_text(path, bindir="/usr/local/bin", sysconfdir="/etc"):
    """The unit template path (NAME.service.in, or NAME.service for its
    template) filled in as make install does."""
    if not str(path).endswith(".in"):
        path = SYSTEMD / (os.path.basename(str(path)) + ".in")
    return path.read_text().replace("@bindir@", bindir).replace("@sysconfdir@", sysconfdir)


def built_copy(tmp_path, name):
    """A copy of the unit whose ExecStart runs the build's program."""
    (tmp_path / name).write_text(unit_text(SYSTEMD / name,
                                           bindir=os.path.dirname(program(UNITS[name]))))
    return tmp_path / name


@pytest.mark.parametrize("name", sorted(UNITS))
def test_unit_verifies_cleanly(tmp_path, name):
    unit = built_copy(tmp_path, name)
    assert f"ExecStart={program(UNITS[name])} -c /etc/darkdaq/{UNITS[name]}.ini" in unit.read_text()
    run = subprocess.run(["systemd-analyze", "verify", "--man=no", str(unit)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    # verify exits 0 on unknown keys and unparsable values: they are only
    # reported, so any output is a failure here
    assert run.stdout + run.stderr == ""


def test_verify_catches_a_bad_unit(tmp_path):
    """The oracle works: a mistyped value is reported."""
    unit = built_copy(tmp_path, "darkdaqd.service")
    unit.write_text(unit.read_text().replace("DevicePolicy=closed", "DevicePolicy=shut"))
    run = subprocess.run(["systemd-analyze", "verify", "--man=no", str(unit)],
                         capture_output=True, text=True, timeout=120)
    assert "device policy" in run.stderr


@pytest.mark.parametrize("name", sorted(UNITS))
def test_unit_settings(name):
    s = read_unit(SYSTEMD / name)
    svc = {k[1]: v for k, v in s.items() if k[0] == "Service"}
    assert svc["Type"] == ["notify"]
    assert svc["ExecStart"] == [f"/usr/local/bin/{UNITS[name]} -c /etc/darkdaq/{UNITS[name]}.ini"]
    assert re.fullmatch(r"\d+s", svc["WatchdogSec"][0])
    assert svc["Restart"] == ["on-failure"]
    assert svc["User"] == ["darkdaq"] and svc["Group"] == ["darkdaq"]
    assert "DynamicUser" not in svc
    for key, value in [("ProtectSystem", "strict"), ("ProtectHome", "yes"),
                       ("PrivateTmp", "yes"), ("NoNewPrivileges", "yes"),
                       ("DevicePolicy", "closed"), ("CapabilityBoundingSet", ""),
                       ("SystemCallFilter", "@system-service"),
                       ("RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6 AF_NETLINK")]:
        assert svc[key] == [value], key
    assert svc["ExecReload"] == ["kill -HUP $MAINPID"]
    # the sockets' directory (version 2 of the endpoint table): both units
    # declare it alike and keep it, so that stopping one leaves the other's
    for key, value in [("RuntimeDirectory", "darkdaq"), ("RuntimeDirectoryMode", "0750"),
                       ("RuntimeDirectoryPreserve", "yes"), ("UMask", "0027")]:
        assert svc[key] == [value], key
    if name == "darkdaqd.service":
        assert svc["DeviceAllow"] == ["char-usb_device rw", "char-dkpcie rw"]
        assert "PrivateDevices" not in svc
        assert svc["StateDirectory"] == ["darkdaq/daemon"]
    else:
        assert svc["StateDirectory"] == ["darkdaq"]
        assert svc["ReadWritePaths"] == ["/var/lib/darkdaq"]
        assert "DeviceAllow" not in svc


def test_sysusers_creates_user_and_group(tmp_path):
    (tmp_path / "etc").mkdir()
    run = subprocess.run(["systemd-sysusers", f"--root={tmp_path}",
                          str(SYSTEMD / "darkdaq.sysusers")],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    passwd = [line.split(":") for line in (tmp_path / "etc/passwd").read_text().splitlines()]
    group = [line.split(":") for line in (tmp_path / "etc/group").read_text().splitlines()]
    user = [p for p in passwd if p[0] == "darkdaq"]
    grp = [g for g in group if g[0] == "darkdaq"]
    assert len(user) == 1 and len(grp) == 1
    assert user[0][3] == grp[0][2]                      # primary group darkdaq
    assert int(user[0][2]) < 1000                       # a system user
    assert user[0][5:] == ["/var/lib/darkdaq", "/usr/sbin/nologin"]


def test_udev_rule_gives_the_board_to_group_darkdaq():
    lines = [line for line in (SYSTEMD / "99-darkdaq-usb.rules").read_text().splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    assert len(lines) == 1
    pairs = re.findall(r'\s*([A-Z]+(?:\{[A-Za-z_]+\})?)(==|!=|=|\+=|:=)"([^"]*)"\s*(?:,|$)', lines[0])
    # every byte of the line is one KEY OP "VALUE" item
    assert ",".join(f'{k}{op}"{v}"' for k, op, v in pairs) == re.sub(r",\s*", ",", lines[0].strip())
    rule = {(k, op): v for k, op, v in pairs}
    assert rule[("SUBSYSTEM", "==")] == "usb"
    assert rule[("ATTR{idVendor}", "==")] == "1209"
    assert rule[("ATTR{idProduct}", "==")] == "0001"
    assert rule[("GROUP", "=")] == "darkdaq"
    assert rule[("MODE", "=")] == "0660"


# ---- make install into a package root ----

def make_install(tmp_path, prefix, *extra):
    dest = tmp_path / "root"
    run = subprocess.run(["make", "-s", "-C", str(ROOT), "BUILD=" + str(BUILD.relative_to(ROOT)),
                          "PREFIX=" + prefix, "DESTDIR=" + str(dest), *extra],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    return dest


def unit_dir_for_usr():
    out = subprocess.run(["pkg-config", "--variable=systemdsystemunitdir", "systemd"],
                         capture_output=True, text=True).stdout.strip()
    return out or "/usr/lib/systemd/system"


def test_install_prefix_usr_is_a_package_root_whose_units_verify(tmp_path):
    dest = make_install(tmp_path, "/usr", "install")
    unitdir = dest / unit_dir_for_usr().lstrip("/")
    for name, prog in UNITS.items():
        text = (unitdir / name).read_text()
        assert f"ExecStart=/usr/bin/{prog} -c /etc/darkdaq/{prog}.ini\n" in text
        assert "@bindir@" not in text and "@sysconfdir@" not in text and "/usr/local" not in text
        assert (dest / "usr/bin" / prog).exists()
        assert (dest / "etc/darkdaq" / (prog + ".ini")).exists()
    for f in ["usr/lib/sysusers.d/darkdaq.conf", "usr/lib/tmpfiles.d/darkdaq.conf",
              "usr/share/doc/darkdaq/LICENSE", "usr/share/man/man8/darkdaqd.8",
              "usr/share/man/man5/darkdaq.ini.5"]:
        assert (dest / f).exists(), f
    assert list(dest.glob("**/udev/rules.d/99-darkdaq-usb.rules"))
    # every program built has its manual page installed
    for prog in sorted(os.listdir(BUILD / "bin")):
        assert list(dest.glob("usr/share/man/man[18]/%s.[18]" % prog)), prog
    # verify inside the root: systemd's targets and kill (ExecReload=) are
    # the target system's, so copy the host's; a bare root fails on
    # "sysinit.target not found"
    shutil.copytree("/lib/systemd/system", unitdir, dirs_exist_ok=True,
                    ignore=lambda d, names: [n for n in names if not n.endswith(".target")])
    (dest / "usr/bin/kill").write_bytes(open(shutil.which("kill"), "rb").read())
    os.chmod(dest / "usr/bin/kill", 0o755)
    run = subprocess.run(["systemd-analyze", "verify", "--man=no", "--root=" + str(dest)] +
                         [str(unitdir / n) for n in sorted(UNITS)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and run.stdout + run.stderr == "", run.stdout + run.stderr
    # the sample configuration loads as it is (its default ipc:// endpoints
    # need no insecure), read by a replay, which binds no socket
    sim = tmp_path / "sim"
    subprocess.run([program("darkdaq-sim"), "-n", "10", "-o", str(sim)], check=True,
                   capture_output=True, timeout=120)
    run = subprocess.run([program("darkdaqd"), "--replay"] + sorted(map(str, sim.glob("*.raw"))) +
                         ["-o", str(tmp_path / "r.dkr"), "-c",
                          str(dest / "etc/darkdaq/darkdaqd.ini")],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "ipc:///run/darkdaq/control" in (dest / "etc/darkdaq/darkdaqd.ini").read_text()
    assert "ipc:///run/darkdaq/storage" in (dest / "etc/darkdaq/darkdaq-store.ini").read_text()
    # uninstall leaves only the configuration and what the test added
    make_install(tmp_path, "/usr", "uninstall")
    left = sorted(str(p.relative_to(dest)) for p in dest.rglob("*")
                  if p.is_file() and not p.name.endswith(".target") and p.name != "kill")
    assert left == ["etc/darkdaq/darkdaq-store.ini", "etc/darkdaq/darkdaqd.ini"], left


def test_install_other_prefix_keeps_everything_under_it(tmp_path):
    dest = make_install(tmp_path, "/opt/darkdaq", "install")
    text = (dest / "opt/darkdaq/lib/systemd/system/darkdaqd.service").read_text()
    assert "ExecStart=/opt/darkdaq/bin/darkdaqd -c /opt/darkdaq/etc/darkdaq/darkdaqd.ini" in text
    outside = [p for p in dest.rglob("*") if p.is_file() and
               not str(p.relative_to(dest)).startswith("opt/darkdaq/")]
    assert outside == []


# ---- manual pages ----

MAN = ROOT / "daemon" / "man"
PAGES = {"darkdaqd": "darkdaqd.8", "darkdaq-store": "darkdaq-store.8",
         "darkdaq-ctl": "darkdaq-ctl.1", "darkdaq-mon": "darkdaq-mon.1",
         "darkdaq-dump": "darkdaq-dump.1", "darkdaq-sim": "darkdaq-sim.1",
         "darkdaq-keygen": "darkdaq-keygen.1"}


def render(page):
    run = subprocess.run(["man", "--warnings", "-l", str(MAN / page)], capture_output=True,
                         text=True, timeout=60, env=dict(os.environ, MANWIDTH="80"))
    # man exits 0 on warnings: they are on stderr
    assert run.returncode == 0 and run.stderr == "", page + ": " + run.stderr
    return run.stdout


@pytest.mark.parametrize("page", sorted(os.listdir(MAN)))
def test_man_page_renders_without_warnings(page):
    assert "NAME" in render(page)


def test_every_program_has_a_page():
    assert sorted(PAGES) == sorted(os.listdir(BUILD / "bin"))
    assert (MAN / "darkdaq.ini.5").exists()


@pytest.mark.parametrize("prog", sorted(PAGES))
def test_man_page_names_every_option_of_help(prog):
    run = subprocess.run([program(prog), "--help"], capture_output=True, text=True)
    out = run.stdout + run.stderr
    opts = set(re.findall(r"(?<![\w-])(--[a-z][-a-z0-9]*|-[a-zA-Z])\b", out))
    assert "--help" in opts
    text = render(PAGES[prog])
    missing = sorted(o for o in opts if not re.search(r"(?<![\w-])%s\b" % re.escape(o), text))
    assert missing == [], missing
