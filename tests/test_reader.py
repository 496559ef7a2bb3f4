# SPDX-License-Identifier: Apache-2.0
"""Tests of proto/darkdaq_reader.py: it reads the run file darkdaqd --replay
writes, counts events per tag as the reference data does, and its CRC-32C
check catches a flipped byte.  Run by tests/run.sh with
PYTHONPATH=$BUILD/gen:proto and DARKDAQ_BUILD=$BUILD."""

import json
import struct
import subprocess

import pytest

import darkdaq_pb2
import darkdaq_reader
from conftest import DATA, program
from darkdaq_reader import RunFile, RunFileError, crc32c, read_run, tag_counts
import runfile_bytes as rb


def _replay(tmp_path, name="mix-clean"):
    raws = sorted(str(p) for p in (DATA / name).glob("*.raw"))
    out = tmp_path / f"{name}.dkr"
    r = subprocess.run([program("darkdaqd"), "--replay", *raws, "-o", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return out


def _expected(name):
    with open(DATA / name / "expected.jsonl") as f:
        return [json.loads(line) for line in f]


def _frames(data):
    """(offset, length, header bytes) of each frame of a well-formed image."""
    return [(f.offset, len(f.payload), f.hb) for f in rb.frames(data)]


def test_crc32c_check_value():
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(b"") == 0
    assert crc32c(b"6789", crc32c(b"12345")) == 0xE3069283


def test_replay_events_per_tag(tmp_path):
    path = _replay(tmp_path)
    run = RunFile(str(path))
    records = list(run)
    assert run.complete and run.stop_reason is None
    assert records[0].WhichOneof("body") == "run_header"
    assert records[0].run_header.run == 0
    assert records[-1].WhichOneof("body") == "run_trailer"
    assert records[-1].run_trailer.records_in_file == len(records)
    assert not records[-1].run_trailer.continued

    counts, events = tag_counts(records)
    expected = _expected("mix-clean")
    want = {name: 0 for name in counts}
    n_events = 0
    for rec in expected:
        if rec["type"] == "event":
            n_events += 1
            for name in rec["tags"]:
                want[name] += 1
    assert events == n_events
    assert counts == want

    trailer = {c.name: c.value for c in records[-1].run_trailer.counts}
    assert trailer["events"] == n_events
    for name, n in want.items():
        assert trailer[f"tag_{name}"] == n

    # Every event's fragments hold their bytes verbatim: each starts "DKFR".
    for rec in records:
        if rec.WhichOneof("body") == "event":
            for frag in rec.event.fragments:
                assert frag.raw[:4] == b"DKFR"


@pytest.mark.parametrize("version", [2, 1])
def test_flipped_byte_is_caught(tmp_path, version):
    """A flipped byte costs its own frame: reported, every other one read."""
    path = _replay(tmp_path)
    if version == 1:
        path.write_bytes(rb.to_v1(path.read_bytes()))
    data = bytearray(path.read_bytes())
    frames = _frames(data)
    good = list(read_run(str(path)))
    assert len(good) == len(frames)

    k = len(frames) // 2
    off, n, hb = frames[k]
    data[off + hb + n // 2] ^= 0x04
    bad = tmp_path / "flipped.dkr"
    bad.write_bytes(bytes(data))

    got = []
    with pytest.raises(RunFileError) as err:
        for rec in read_run(str(bad)):
            got.append(rec)
    assert err.value.offset == off
    assert "crc mismatch" in err.value.reason
    assert f"{hb + n} bytes skipped" in err.value.reason
    want = good[:k] + good[k + 1:]
    assert [r.SerializeToString() for r in got] == [r.SerializeToString() for r in want]

    run = RunFile(str(bad), strict=False)
    assert len(list(run)) == len(frames) - 1
    assert not run.complete
    assert run.damage[0][:3] == (off, "skipped", hb + n)


def test_duplicate_and_header_damage(tmp_path):
    path = _replay(tmp_path)
    data = path.read_bytes()
    fr = rb.frames(data)
    good = list(read_run(str(path)))
    k = len(fr) // 3
    dup = tmp_path / "dup.dkr"
    dup.write_bytes(data[:fr[k].end] + data[fr[k].offset:fr[k].end] + data[fr[k].end:])
    run = RunFile(str(dup), strict=False)
    assert [r.SerializeToString() for r in run] == [r.SerializeToString() for r in good]
    assert [d[1] for d in run.damage] == ["duplicate"]
    head = bytearray(data)
    head[fr[0].offset + 30] ^= 1
    h = tmp_path / "head.dkr"
    h.write_bytes(bytes(head))
    run = RunFile(str(h), strict=False)
    assert [r.SerializeToString() for r in run] == [r.SerializeToString() for r in good[1:]]
    assert run.damage[0][:2] == (8, "skipped")


def test_cut_file_reads_to_last_whole_frame(tmp_path):
    path = _replay(tmp_path)
    data = path.read_bytes()
    frames = _frames(data)
    off, n, hb = frames[-3]
    cut = tmp_path / "cut.dkr"
    cut.write_bytes(data[:off + hb + n // 3])
    run = RunFile(str(cut), strict=False)
    assert len(list(run)) == len(frames) - 3
    assert not run.complete
    assert run.stop_offset == off
    assert run.stop_reason.startswith(f"frame cut at byte {off}: header says {n} bytes")
    with pytest.raises(RunFileError):
        list(read_run(str(cut)))

    # Ends on a frame boundary, without its trailer: no error, not complete.
    cut.write_bytes(data[:frames[-1][0]])
    run = RunFile(str(cut))
    assert len(list(run)) == len(frames) - 1
    assert not run.complete and run.stop_reason is None


def test_dump_json_matches_reader(tmp_path):
    """darkdaq-dump --json prints, per record, what the reader reads."""
    path = _replay(tmp_path, "mix-faults")
    out = subprocess.run([program("darkdaq-dump"), "--json", str(path)], check=True,
                         capture_output=True, text=True, timeout=300).stdout
    lines = [json.loads(line) for line in out.splitlines()]
    records = list(read_run(str(path)))
    assert len(lines) == len(records)
    for line, rec in zip(lines, records):
        body = rec.WhichOneof("body")
        assert line["type"] == {"run_header": "run_header", "run_trailer": "run_trailer"}.get(
            body, body)
        if body == "event":
            ev = rec.event
            assert line["trigger"] == ev.trigger
            assert line["status"] == [darkdaq_pb2.Status.Name(s)[7:].lower() for s in ev.status]
            assert line["e_miss_gev"] == ev.e_miss_gev
            assert sorted(line["tags"]) == sorted(f.name for f, _ in ev.tags.ListFields())
            assert ("missing" in line) == ("incomplete" in line["status"])


def test_main_prints_counts(tmp_path, capsys):
    path = _replay(tmp_path, "zprime-m3")
    assert darkdaq_reader.main(["darkdaq_reader.py", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    events = [r for r in _expected("zprime-m3") if r["type"] == "event"]
    assert lines[0] == f"{len(events)} events"
    n_zprime = sum("zprime_invisible" in r["tags"] for r in events)
    assert ["zprime_invisible", str(n_zprime)] in [line.split() for line in lines]


def _dump(*paths):
    return subprocess.run([program("darkdaq-dump"), "--json", *map(str, paths)],
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("version", [2, 1])
def test_dump_reports_damage_and_reads_past_it(tmp_path, version):
    """darkdaq-dump on damaged copies: a damage line naming file, offset,
    reason and bytes skipped, every intact record printed once, exit 1; a
    sound file prints as before and exits 0."""
    path = _replay(tmp_path, "mix-faults")
    if version == 1:
        path.write_bytes(rb.to_v1(path.read_bytes()))
    data = path.read_bytes()
    fr = rb.frames(data)
    r = _dump(path)
    assert r.returncode == 0 and r.stderr == ""
    good = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(good) == len(fr)

    k = len(fr) // 2
    flip = bytearray(data)
    flip[fr[k].offset + fr[k].hb + 3] ^= 0x01
    bad = tmp_path / "flip.dkr"
    bad.write_bytes(bytes(flip))
    r = _dump(bad)
    assert r.returncode == 1
    out = [json.loads(line) for line in r.stdout.splitlines()]
    dmg = [o for o in out if o["type"] == "damage"]
    assert dmg[0]["file"] == str(bad) and dmg[0]["kind"] == "skipped"
    assert dmg[0]["offset"] == fr[k].offset and dmg[0]["skipped"] == fr[k].size
    assert "crc mismatch" in dmg[0]["reason"] and "crc mismatch" in r.stderr
    assert [o for o in out if o["type"] != "damage"] == good[:k] + good[k + 1:]

    if version == 2:
        # a duplicated frame: printed once, reported
        dup = data[:fr[k].end] + data[fr[k].offset:fr[k].end] + data[fr[k].end:]
        (tmp_path / "dup.dkr").write_bytes(dup)
        r = _dump(tmp_path / "dup.dkr")
        assert r.returncode == 1
        out = [json.loads(line) for line in r.stdout.splitlines()]
        assert [o for o in out if o["type"] != "damage"] == good
        assert [o["kind"] for o in out if o["type"] == "damage"] == ["duplicate"]
        # the header frame damaged: still a run file, the rest printed
        h = bytearray(data)
        h[fr[0].offset + 40] ^= 0x08
        (tmp_path / "head.dkr").write_bytes(bytes(h))
        r = _dump(tmp_path / "head.dkr")
        assert r.returncode == 1
        out = [json.loads(line) for line in r.stdout.splitlines()]
        assert out[0]["type"] == "damage" and out[0]["offset"] == 8
        # without the header the run number is not known: events print without it
        nohdr = [{k: v for k, v in o.items() if k != "run"} for o in good[1:]]
        assert [o for o in out if o["type"] != "damage"] == nohdr


def test_dump_continuation_file_is_no_gap(tmp_path):
    """Two files of one run split where a store restart splits them: the
    second starts at seq k after the first ended at k - 1 (its header is the
    store's copy, without a seq)."""
    path = _replay(tmp_path, "mix-clean")
    data = path.read_bytes()
    fr = rb.frames(data)
    hdr = darkdaq_pb2.Record.FromString(fr[0].payload)
    hdr.run_header.file_sequence = 1
    m = len(fr) // 2
    a = tmp_path / "run-000000-000.dkr"
    b = tmp_path / "run-000000-001.dkr"
    a.write_bytes(data[:fr[m].offset])
    b.write_bytes(rb.FILE_HEADER + rb.v2_frame(hdr.SerializeToString(), fr[0].sender) +
                  data[fr[m].offset:fr[-1].offset] +
                  rb.v2_frame(fr[-1].payload, fr[-1].sender, fr[-1].seq))
    r = _dump(a, b)
    dmg = [json.loads(line) for line in r.stdout.splitlines()
           if json.loads(line)["type"] == "damage"]
    kinds = [d["kind"] for d in dmg]
    # the trailer's records_in_file counts the one file it closed (both
    # halves came from one), but its events count holds across the run
    assert "seq_gap" not in kinds and "resync_seq" not in kinds and "duplicate" not in kinds
    assert not any("events in the run" in d["reason"] for d in dmg)
    # and the same second file after a first that lost its last frame: a gap
    a.write_bytes(data[:fr[m - 1].offset])
    r = _dump(a, b)
    kinds = [json.loads(line).get("kind") for line in r.stdout.splitlines()
             if json.loads(line)["type"] == "damage"]
    assert "seq_gap" in kinds and r.returncode == 1
    n = sum(1 for f in fr if f.payload[0] == 0x12)
    assert f"counts {n} events in the run, {n - 1} read in its files" in r.stderr
