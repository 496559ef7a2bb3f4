"""The files in systemd/: both units pass `systemd-analyze verify` without a
single warning (it needs each ExecStart binary to exist, so a copy of the
unit runs the built one), keep their sandbox and watchdog settings; the
sysusers entry creates user and group darkdaq in a scratch root; the udev
rule gives the 1209:0001 board to group darkdaq."""
import configparser
import re
import subprocess

import pytest

from conftest import ROOT, program

SYSTEMD = ROOT / "systemd"
UNITS = {"darkdaqd.service": "darkdaqd", "darkdaq-store.service": "darkdaq-store"}


def read_unit(path):
    """The unit's [Service] settings: key -> list of values (keys repeat)."""
    settings = {}
    section = None
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        settings.setdefault((section, key), []).append(value)
    return settings


def built_copy(tmp_path, name):
    """A copy of the unit whose ExecStart runs the build's program."""
    prog = UNITS[name]
    text = (SYSTEMD / name).read_text()
    (tmp_path / name).write_text(text.replace(f"/usr/local/bin/{prog} ", program(prog) + " "))
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
    if name == "darkdaqd.service":
        assert svc["DeviceAllow"] == ["char-usb_device rw", "char-dkpcie rw"]
        assert "PrivateDevices" not in svc
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
