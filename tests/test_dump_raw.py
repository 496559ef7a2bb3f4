# SPDX-License-Identifier: Apache-2.0
"""darkdaq-dump on raw streams: the reference .dump.jsonl files exactly (the
error texts are for people and not compared), every byte accounted for once,
and clear errors for files that cannot be read."""
import json
import os
import subprocess

import pytest

from conftest import DATA, program

DUMPS = sorted(str(p.relative_to(DATA)) for p in DATA.glob("*/*.dump.jsonl"))


def dump(*args):
    return subprocess.run([program("darkdaq-dump"), *args], capture_output=True, text=True,
                          timeout=120)


def lines(path, *opts):
    r = dump("--json", *opts, str(path))
    assert r.returncode == 0, r.stderr
    return [json.loads(line) for line in r.stdout.splitlines()]


@pytest.mark.parametrize("rel", DUMPS)
def test_reference_raw_dump(rel):
    raw = DATA / rel.replace(".dump.jsonl", ".raw")
    got = lines(raw)
    exp = [json.loads(line) for line in open(DATA / rel)]
    strip = lambda o: {k: v for k, v in o.items() if k != "error"}
    assert [strip(o) for o in got] == [strip(o) for o in exp]
    assert all("error" in o for o in got if o["type"] == "fragment" and not o["ok"])
    at = 0
    for o in got:
        assert o["offset"] == at
        at += o["bytes"]
    assert at == os.path.getsize(raw)


def test_empty_file(tmp_path):
    p = tmp_path / "empty.raw"
    p.write_bytes(b"")
    assert lines(p, "--raw") == []


def test_pure_junk_is_one_run(tmp_path):
    p = tmp_path / "junk.raw"
    p.write_bytes(bytes(range(256)) * 40 + b"abc")
    assert lines(p, "--raw") == [{"type": "junk", "offset": 0, "bytes": 10243}]


def test_junk_longer_than_the_readers_piece_is_one_run(tmp_path):
    p = tmp_path / "bigjunk.raw"
    p.write_bytes(b"\x5c" * (3 * 1024 * 1024 + 8))
    assert lines(p, "--raw") == [{"type": "junk", "offset": 0, "bytes": 3 * 1024 * 1024 + 8}]


@pytest.mark.parametrize("kind", ["passwd", "empty", "directory", "junk"])
def test_not_a_run_file_nor_a_raw_stream_exits_1(tmp_path, kind):
    """No good fragment in the first 4 MiB and no run file: said, exit 1;
    --raw reads it as a stream all the same."""
    p = tmp_path / kind
    if kind == "directory":
        p.mkdir()
    elif kind == "passwd":
        p.write_bytes(b"root:x:0:0:root:/root:/bin/bash\n" * 3)
    elif kind == "junk":
        p.write_bytes(b"\x5c" * (5 * 1024 * 1024))
    else:
        p.write_bytes(b"")
    r = dump("--json", str(p))
    assert r.returncode == 1
    assert str(p) in r.stderr and r.stdout == ""
    if kind == "directory":
        assert "is a directory" in r.stderr
    else:
        assert "not a run file, and no good fragment in its first 4 MiB" in r.stderr
        assert "--raw" in r.stderr
        assert dump("--json", "--raw", str(p)).returncode == 0
    # a good fragment after 4 MiB of junk still makes a raw stream, with --raw
    if kind == "junk":
        frag = (DATA / "crafted" / "content.raw").read_bytes()
        p.write_bytes(b"\x5c" * (4 << 20) + frag)
        assert dump("--json", str(p)).returncode == 1
        got = lines(p, "--raw")
        assert got[0] == {"type": "junk", "offset": 0, "bytes": 4 << 20}


def test_one_mib_claim_at_the_end(tmp_path):
    data = (DATA / "mix-clean" / "board-0.raw").read_bytes()
    n = 40 + int.from_bytes(data[12:16], "little")
    good = data[:n]
    hdr = bytearray(good[:32])
    hdr[12:16] = (1048576).to_bytes(4, "little")
    p = tmp_path / "claim.raw"
    p.write_bytes(good + bytes(hdr) + b"\x01" * 100)
    got = lines(p)
    assert len(got) == 2
    assert got[0]["ok"] and got[0]["bytes"] == n
    assert got[1]["offset"] == n and got[1]["bytes"] == 132 and not got[1]["ok"]
    assert "source" in got[1] and "error" in got[1]


def test_unreadable_path_exits_1_naming_it(tmp_path):
    r = dump("--json", str(tmp_path / "missing.raw"))
    assert r.returncode == 1
    assert "missing.raw" in r.stderr


def test_good_files_still_print_beside_a_bad_one(tmp_path):
    good = DATA / "crafted" / "content.raw"
    r = dump("--json", str(tmp_path / "missing.raw"), str(good))
    assert r.returncode == 1
    assert len(r.stdout.splitlines()) == 8


def test_text_mode_summary():
    r = dump(str(DATA / "mix-faults" / "board-0.raw"))
    assert r.returncode == 0
    last = r.stdout.splitlines()
    summary = [l for l in last if "good fragments" in l]
    assert summary and "junk bytes" in summary[0]
    assert any("bad (crc)" in l for l in last)
    assert any("source  0:" in l for l in last)


def test_usage():
    assert dump().returncode == 2
    assert dump("--bogus").returncode == 2
    r = dump("--version")
    assert r.returncode == 0 and "darkdaq-dump" in r.stdout
