# SPDX-License-Identifier: Apache-2.0
"""End to end on the reference data: darkdaqd --replay of each directory's raw
files, then darkdaq-dump --json of the run file, must reproduce expected.jsonl
(made by an independent implementation of the specs): events by trigger
number with every field and every tag quantity (1e-6 relative or 1e-9
absolute, whichever is larger), late, junk and corrupt records as sets."""
import json
import math
import subprocess

import pytest

from conftest import DATA, program

DIRS = sorted(p.name for p in DATA.iterdir() if (p / "expected.jsonl").exists())


def raw_files(d):
    return sorted(str(p) for p in (DATA / d).glob("*.raw"))


def replay(tmp_path, files, name="run.dkr"):
    out = tmp_path / name
    r = subprocess.run([program("darkdaqd"), "--replay", *files, "-o", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    d = subprocess.run([program("darkdaq-dump"), "--json", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert d.returncode == 0, d.stderr
    return [json.loads(line) for line in d.stdout.splitlines()], r.stdout


def close(a, b):
    return abs(a - b) <= max(1e-6 * max(abs(a), abs(b)), 1e-9)


def same(a, b, path=""):
    """Compares parsed JSON, numbers at the daemon/physics/README.md tolerance; returns the
    path of the first difference or None."""
    if isinstance(a, bool) or isinstance(b, bool):
        return None if a == b else path
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return None if close(float(a), float(b)) else f"{path}: {a} != {b}"
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return f"{path}: keys {sorted(a)} != {sorted(b)}"
        for k in a:
            d = same(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = same(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    return None if a == b else f"{path}: {a!r} != {b!r}"


def split(records):
    events = {r["trigger"]: r for r in records if r["type"] == "event"}
    others = {}
    for kind in ("late", "junk", "corrupt"):
        rs = [dict(r) for r in records if r["type"] == kind]
        for r in rs:
            r.pop("reason", None)       # texts are for people
        others[kind] = sorted(json.dumps(r, sort_keys=True) for r in rs)
    return events, others


@pytest.mark.parametrize("d", DIRS)
def test_reference_directory(tmp_path, d):
    got, _ = replay(tmp_path, raw_files(d))
    exp = [json.loads(line) for line in open(DATA / d / "expected.jsonl")]
    ge, go = split(got)
    ee, eo = split(exp)
    assert sorted(ge) == sorted(ee), "event trigger numbers differ"
    diffs = []
    for t in sorted(ee):
        diff = same(ge[t], ee[t], f"trigger {t}")
        if diff:
            diffs.append(diff)
    assert not diffs, f"{len(diffs)} of {len(ee)} events differ, first: {diffs[:5]}"
    for kind in ("late", "junk", "corrupt"):
        assert go[kind] == eo[kind], f"{kind} records differ"
    # events leave the builder in ascending trigger order (serial arithmetic)
    trig = [r["trigger"] for r in got if r["type"] == "event"]
    assert all(((b - a) & 0xFFFFFFFF) < 0x80000000 for a, b in zip(trig, trig[1:]))


def test_interleaved_equals_per_board_files(tmp_path):
    """One interleaved file gives the same events as the same fragments in
    per-board files (what becomes of a fragment depends on its own source's
    stream only).  The per-board files are cut out of all.raw here."""
    import struct
    data = (DATA / "interleaved" / "all.raw").read_bytes()
    per = {}
    off = 0
    # good fragments only: a clean split needs whole fragments
    dump = subprocess.run([program("darkdaq-dump"), "--json",
                           str(DATA / "interleaved" / "all.raw")],
                          capture_output=True, text=True, check=True)
    for line in dump.stdout.splitlines():
        o = json.loads(line)
        if o["type"] == "fragment" and o.get("ok"):
            per.setdefault(o["source"], bytearray()).extend(
                data[o["offset"]:o["offset"] + o["bytes"]])
    files = []
    for s, b in sorted(per.items()):
        p = tmp_path / f"board-{s}.raw"
        p.write_bytes(bytes(b))
        files.append(str(p))
    whole = tmp_path / "good.raw"
    good = bytearray()
    for line in dump.stdout.splitlines():
        o = json.loads(line)
        if o["type"] == "fragment" and o.get("ok"):
            good.extend(data[o["offset"]:o["offset"] + o["bytes"]])
    whole.write_bytes(bytes(good))
    a, _ = replay(tmp_path, files, "a.dkr")
    b, _ = replay(tmp_path, [str(whole)], "b.dkr")
    ea, _ = split(a)
    eb, _ = split(b)
    assert sorted(ea) == sorted(eb)
    for t in ea:
        assert same(ea[t], eb[t]) is None, t
    assert struct.calcsize("<I") == 4


def test_replay_twice_differs_only_in_timestamps(tmp_path):
    files = raw_files("mix-faults")
    a, _ = replay(tmp_path, files, "a.dkr")
    b, _ = replay(tmp_path, files, "b.dkr")
    def strip(rs):
        out = []
        for r in rs:
            r = dict(r)
            for k in ("start_time_ns", "end_time_ns"):
                r.pop(k, None)
            out.append(r)
        return out
    assert strip(a) == strip(b)
    ra = (tmp_path / "a.dkr").read_bytes()
    rb = (tmp_path / "b.dkr").read_bytes()
    assert len(ra) == len(rb)
    # bytes differ only inside the first (header) and last (trailer) frames
    # (run file v2: an 8-byte file header, then 24-byte frame headers)
    import struct
    assert ra[:8] == b"DKRN\x02\0\0\0"
    first = 8 + 24 + struct.unpack_from("<I", ra, 12)[0]
    off = 8
    while off < len(ra):
        n = struct.unpack_from("<I", ra, off + 4)[0]
        last = off
        off += 24 + n
    assert ra[first:last] == rb[first:last]


def test_unreadable_input_exits_1(tmp_path):
    r = subprocess.run([program("darkdaqd"), "--replay", str(tmp_path / "nope.raw"),
                        "-o", str(tmp_path / "x.dkr")], capture_output=True, text=True)
    assert r.returncode == 1
    assert "nope.raw" in r.stderr


def test_usage_errors_exit_2(tmp_path):
    r = subprocess.run([program("darkdaqd"), "--replay"], capture_output=True, text=True)
    assert r.returncode == 2
    bad = tmp_path / "bad.ini"
    bad.write_text("[physics]\nno_such_key = 1\n")
    r = subprocess.run([program("darkdaqd"), "--replay", raw_files("crafted")[0], "-o",
                        str(tmp_path / "x.dkr"), "-c", str(bad)], capture_output=True, text=True)
    assert r.returncode == 2
    assert "bad.ini:2" in r.stderr and "no_such_key" in r.stderr
