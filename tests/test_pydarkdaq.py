# SPDX-License-Identifier: Apache-2.0
"""The Python package darkdaq (proto/darkdaq): events() and tables() equal
darkdaq-dump --json field by field on every reference run; CSV and HDF5
round trips by value; several files and directories as one run with a
once-per-trigger check; damage named with its place; subscribe() on a real
loopback socket; bounded memory on a large file; the generated protobuf
module as protoc makes it; the README's venv install, used elsewhere."""
import csv
import json
import math
import os
import re
import shutil
import struct
import subprocess
import sys

import numpy as np
import pytest
import zmq

from conftest import BUILD, DATA, ROOT, program

# The built package, ahead of proto/ (its sources without the extension),
# which other tests put first on the path for darkdaq_reader.
sys.path.insert(0, str(BUILD / "python"))
import darkdaq  # noqa: E402
import runfile_bytes as rb  # noqa: E402
from darkdaq import darkdaq_pb2 as pb  # noqa: E402

DIRS = sorted(p.name for p in DATA.iterdir() if (p / "expected.jsonl").exists())
PY = "/usr/bin/python3"
ENV = dict(os.environ, PYTHONPATH=str(BUILD / "python"))


def _replay(tmp_path, name, run=None, out=None):
    raws = sorted(str(p) for p in (DATA / name).glob("*.raw"))
    out = out or tmp_path / f"{name}.dkr"
    extra = ["--run", str(run)] if run is not None else []
    r = subprocess.run([program("darkdaqd"), "--replay", *raws, "-o", str(out), *extra],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return out


def _dump_json(path):
    out = subprocess.run([program("darkdaq-dump"), "--json", str(path)], check=True,
                         capture_output=True, text=True, timeout=300).stdout
    return [json.loads(line) for line in out.splitlines()]


def _same_rows(a, b):
    """Structured arrays equal, NaN equal to NaN (bit for bit)."""
    return a.dtype == b.dtype and a.tobytes() == b.tobytes()


def _same_float(a, b):
    return (math.isnan(a) and math.isnan(b)) or a == b


# Each JSON field of an event and the column(s) that hold it.
SCALARS = ["run", "trigger", "time_ticks", "trigger_bits", "n_tracks", "charge_sum",
           "n_photons", "e_extra_gev", "e_miss_gev"]
TAG_FIELDS = {
    "zprime_invisible": ["recoil_m2_gev2", "recoil_theta_rad"],
    "tau_1x3": ["lepton", "thrust", "x_lepton"],
    "missing_energy": ["e_miss_gev", "theta_miss_rad", "m2_miss_gev2"],
    "single_photon": ["photon_e_gev", "recoil_m2_gev2"],
    "idm_dark_higgs": [],
}
LISTS = {("mumu_tautau", "recoil_m_gev"): "mumu_tautau_recoil_m_gev",
         ("four_muon", "dimuon_m_gev"): "four_muon_dimuon_m_gev",
         ("three_photon", "diphoton_m_gev"): "three_photon_diphoton_m_gev"}


def _check_event(j, row, lists):
    """Compares one JSON event with its row; returns the JSON keys used."""
    used = {"type", "sources", "status", "missing", "tags"}
    for k in SCALARS:
        assert row[k] == j[k], (k, j["trigger"])
        used.add(k)
    for i, name in enumerate(darkdaq.STATUS):
        assert bool(row[name]) == (name in j["status"]), (name, j["trigger"])
    key = (j["run"], j["trigger"])
    assert lists["sources"].get(key, []) == j["sources"]
    assert lists["missing"].get(key, []) == j.get("missing", [])
    assert row["n_sources"] == len(j["sources"])
    for tag in darkdaq.TAGS:
        fired = tag in j["tags"]
        assert bool(row[tag]) == fired, (tag, j["trigger"])
        q = j["tags"].get(tag, {})
        for f in TAG_FIELDS.get(tag, []):
            col = f"{tag}_{f}"
            if f == "lepton":
                assert row[col].decode() == q.get(f, "")
            else:
                assert _same_float(row[col], q[f] if fired else math.nan), (col, j["trigger"])
        for f in q:
            assert f in TAG_FIELDS.get(tag, []) or (tag, f) in LISTS or tag == "displaced_vertex", \
                f"JSON field tags.{tag}.{f} has no column"
    for tag in ("zprime_invisible", "single_photon"):
        m2 = row[f"{tag}_recoil_m2_gev2"]
        m = row[f"{tag}_recoil_m_gev"]
        assert _same_float(m, math.sqrt(max(m2, 0.0)) if not math.isnan(m2) else math.nan)
    for (tag, f), table in LISTS.items():
        want = j["tags"].get(tag, {}).get(f, [])
        assert lists[table].get(key, []) == want, (table, j["trigger"])
        assert row[f"{tag}_n"] == len(want)
    want = j["tags"].get("displaced_vertex", {}).get("candidates", [])
    got = lists["displaced_vertex_candidates"].get(key, [])
    assert got == want
    assert row["displaced_vertex_n"] == len(want)
    return used


def _lists(tabs):
    out = {}
    for name, t in tabs.items():
        if name == "events":
            continue
        d = {}
        for r in t:
            key = (int(r["run"]), int(r["trigger"]))
            if name == "displaced_vertex_candidates":
                v = {n: (bool(r[n]) if n == "points_to_ip" else float(r[n]))
                     for n in t.dtype.names if n not in ("run", "trigger", "index")}
            else:
                v = r["source"].item() if "source" in t.dtype.names else float(r["value"])
            lst = d.setdefault(key, [])
            assert r["index"] == len(lst)
            lst.append(v)
        out[name] = d
    return out


@pytest.mark.parametrize("d", DIRS)
def test_events_equal_dump_json(tmp_path, d):
    path = _replay(tmp_path, d)
    js = [r for r in _dump_json(path) if r["type"] == "event"]
    tabs = darkdaq.tables(str(path))
    ev = tabs["events"]
    assert len(ev) == len(js)
    assert list(ev["trigger"]) == [j["trigger"] for j in js]    # storage order
    lists = _lists(tabs)
    used = set()
    for j, row in zip(js, ev):
        used |= _check_event(j, row, lists)
    every = set().union(*(j.keys() for j in js)) if js else set()
    assert every <= used, f"JSON fields without a column: {every - used}"
    assert _same_rows(darkdaq.events(str(path)), ev)


def test_columns_dtypes_and_pandas(tmp_path):
    path = _replay(tmp_path, "mix-clean")
    ev = darkdaq.events(str(path), columns=["trigger", "time_ticks", "zprime_invisible",
                                            "zprime_invisible_recoil_m2_gev2", "n_photons"])
    assert ev.dtype.names == ("trigger", "time_ticks", "zprime_invisible",
                              "zprime_invisible_recoil_m2_gev2", "n_photons")
    assert ev.dtype["trigger"] == np.uint32 and ev.dtype["time_ticks"] == np.uint64
    assert ev.dtype["zprime_invisible"] == np.bool_
    assert np.isnan(ev["zprime_invisible_recoil_m2_gev2"][~ev["zprime_invisible"]]).all()
    assert not np.isnan(ev["zprime_invisible_recoil_m2_gev2"][ev["zprime_invisible"]]).any()
    df = darkdaq.events(str(path), as_pandas=True)
    assert str(df["time_ticks"].dtype) == "uint64"
    assert str(df["idm_dark_higgs"].dtype) == "bool"
    assert (df["n_photons"] == 0).any() and not df["n_photons"].isna().any()
    assert set(df["tau_1x3_lepton"][df["tau_1x3"]]) <= {"e", "mu"}
    with pytest.raises(ValueError, match="unknown column.*'nope'"):
        darkdaq.events(str(path), columns=["trigger", "nope"])


def test_csv_equals_events(tmp_path):
    path = _replay(tmp_path, "mix-faults")
    out = subprocess.run([program("darkdaq-dump"), "--csv", str(path)], check=True,
                         capture_output=True, text=True, timeout=300).stdout
    rows = list(csv.reader(out.splitlines()))
    ev = darkdaq.events(str(path))
    assert tuple(rows[0]) == ev.dtype.names
    assert len(rows) - 1 == len(ev)
    for r, e in zip(rows[1:], ev):
        for name, text in zip(rows[0], r):
            v = e[name]
            if ev.dtype[name].kind == "f":
                assert _same_float(float(text), v), (name, e["trigger"])
            elif ev.dtype[name].kind == "S":
                assert text == v.decode()
            else:
                assert int(text) == int(v), (name, e["trigger"])
    raw = next((DATA / "mix-clean").glob("*.raw"))
    r = subprocess.run([program("darkdaq-dump"), "--csv", str(raw)], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 1 and "not a run file" in r.stderr


def _h5dump(path, dataset):
    out = subprocess.run(["h5dump", "-m", "%.17g", "-d", dataset, "-y", "-w", "0", str(path)],
                         check=True, capture_output=True, text=True, timeout=60).stdout
    body = out[out.index("DATA {") + 6:].split("}")[0]
    return [t for t in re.split(r"[,\s]+", body) if t]


def test_hdf5_export_by_value(tmp_path):
    path = _replay(tmp_path, "mix-clean")
    h5 = tmp_path / "out.h5"
    r = subprocess.run([PY, "-m", "darkdaq", "export", "--hdf5", str(path), str(h5)],
                       env=ENV, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    tabs = darkdaq.tables(str(path))
    for col in ("trigger", "time_ticks", "charge_sum", "e_miss_gev",
                "zprime_invisible_recoil_m2_gev2", "missing_energy", "four_muon_n"):
        want = tabs["events"][col]
        got = _h5dump(h5, f"/events/{col}")
        assert len(got) == len(want)
        for g, w in zip(got, want):
            if want.dtype.kind == "b":
                assert g == ("TRUE" if w else "FALSE")
            elif want.dtype.kind == "f":
                assert _same_float(float(g), w), col
            else:
                assert int(g) == int(w), col
    got = [float(x) for x in _h5dump(h5, "/four_muon_dimuon_m_gev/value")]
    assert got == list(tabs["four_muon_dimuon_m_gev"]["value"])
    r = subprocess.run([PY, "-m", "darkdaq", "export", "--hdf5", str(tmp_path / "none.dkr"),
                        str(h5)], env=ENV, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "none.dkr" in r.stderr


def test_several_files_and_directories(tmp_path):
    a = tmp_path / "a"
    b = tmp_path / "b"
    a.mkdir()
    b.mkdir()
    f1 = _replay(tmp_path, "mix-clean", run=3, out=a / "run-000003-000.dkr")
    f2 = _replay(tmp_path, "zprime-m3", run=4, out=a / "run-000004-000.dkr")
    f3 = _replay(tmp_path, "wrap", run=5, out=b / "run-000005-000.dkr")
    one = [darkdaq.events(str(f)) for f in (f1, f2, f3)]
    both = darkdaq.events([str(a), str(b)])
    assert _same_rows(both, np.concatenate(one))
    assert list(np.unique(both["run"])) == [3, 4, 5]
    recs = list(darkdaq.read_run([str(a), str(b)]))
    assert sum(r.kind == "event" for r in recs) == len(both)
    assert [r.run_header.run for r in recs if r.kind == "run_header"] == [3, 4, 5]
    wrap = darkdaq.events(str(f3))
    assert len(wrap) and wrap["trigger"][0] > wrap["trigger"][-1]    # across the wrap, in order
    shutil.copy(f1, b / "run-000003-001.dkr")
    with pytest.raises(darkdaq.DuplicateTriggerError, match=r"run 3 appears 2 times") as e:
        darkdaq.events([str(a), str(b)])
    assert "run-000003-000.dkr" in str(e.value) and "run-000003-001.dkr" in str(e.value)
    with pytest.raises(darkdaq.DarkdaqError, match="no run files"):
        darkdaq.events(str(tmp_path / "a" / ".."))


def test_damage_is_named_and_good_rows_kept(tmp_path):
    """A flipped byte costs its own frame only, in version 2 and version 1."""
    path = _replay(tmp_path, "mix-clean")
    for version in (2, 1):
        data = bytearray(path.read_bytes() if version == 2 else rb.to_v1(path.read_bytes()))
        src = tmp_path / f"v{version}.dkr"
        src.write_bytes(bytes(data))
        fr = rb.frames(data)
        good = darkdaq.events(str(src))
        k = len(fr) // 2
        f = fr[k]
        data[f.offset + f.hb + len(f.payload) // 2] ^= 0x04
        bad = tmp_path / "flipped.dkr"
        bad.write_bytes(bytes(data))
        with pytest.raises(darkdaq.RunFileError) as e:
            darkdaq.events(str(bad))
        assert e.value.offset == f.offset
        assert f"crc mismatch at frame {k} offset {f.offset}" in str(e.value)
        assert "flipped.dkr" in str(e.value)
        damage = []
        kept = darkdaq.events(str(bad), strict=False, damage=damage)
        # every event but the damaged one (frame 0 is the run header)
        assert _same_rows(kept, np.concatenate([good[:k - 1], good[k:]]))
        # v2 also says the lost frame's seq is missing when the next is found
        want = [("skipped", f.offset, f.size)]
        if version == 2:
            want.append(("resync_seq", f.end, 0))
        assert [(d.kind, d.offset, d.skipped) for d in damage] == want
        assert f"bytes skipped to the next good frame at byte {f.end}" in damage[0].reason
        with pytest.raises(darkdaq.RunFileError) as e:
            list(darkdaq.read_run(str(bad)))
        assert e.value.offset == f.offset
        run = darkdaq.RunFile(str(bad), strict=False)
        recs = list(run)
        assert len(recs) == len(fr) - 1 and not run.complete
        assert [r.offset for r in recs] == [x.offset for i, x in enumerate(fr) if i != k]
        # RunFile also checks the trailer's count, which no longer holds
        assert run.damage[:len(damage)] == damage
        assert [d.kind for d in run.damage[len(damage):]] == ["count"]
        cut = tmp_path / "cut.dkr"
        f = fr[-3]
        cut.write_bytes(bytes(src.read_bytes())[:f.offset + f.hb + len(f.payload) // 3])
        run = darkdaq.RunFile(str(cut), strict=False)
        assert sum(1 for _ in run) == len(fr) - 3 and not run.complete
        assert run.stop_reason.startswith(f"frame cut at byte {f.offset}: header says "
                                          f"{len(f.payload)} bytes")
    assert darkdaq.crc32c(b"123456789") == 0xE3069283


def _damaged(tmp_path, name, data):
    p = tmp_path / name
    p.write_bytes(bytes(data))
    return p


def test_every_damage_kind(tmp_path):
    """Zeroed 4 KiB, a duplicated frame, bytes appended, a damaged header
    frame, a second header and an early trailer: each is reported, every
    intact frame returned once, in both paths of the package."""
    path = _replay(tmp_path, "mix-faults")
    data = path.read_bytes()
    fr = rb.frames(data)
    good = darkdaq.events(str(path))
    recs = list(darkdaq.read_run(str(path)))
    assert [r.offset for r in recs] == [f.offset for f in fr]

    # 4 KiB of zeros in the middle: the frames it touches are lost, no others
    mid = fr[len(fr) // 2].offset + 10
    z = bytearray(data)
    z[mid:mid + 4096] = bytes(4096)
    lost = {i for i, f in enumerate(fr) if f.end > mid and f.offset < mid + 4096}
    assert len(lost) >= 2
    p = _damaged(tmp_path, "zero.dkr", z)
    run = darkdaq.RunFile(str(p), strict=False)
    assert [r.offset for r in run] == [f.offset for i, f in enumerate(fr) if i not in lost]
    kinds = [x.kind for x in run.damage]
    assert kinds[0] == "skipped" and run.damage[0].offset == fr[min(lost)].offset
    assert run.damage[0].skipped == fr[max(lost)].end - fr[min(lost)].offset
    assert "resync_seq" in kinds and "count" in kinds       # seqs and the trailer say it too
    damage = []
    ev = darkdaq.events(str(p), strict=False, damage=damage)
    assert [x.kind for x in damage] == [k for k in kinds if k not in ("count",)]
    assert len(ev) == sum(1 for i, f in enumerate(fr) if i not in lost and _kind(f) == 2)
    with pytest.raises(darkdaq.RunFileError):
        darkdaq.events(str(p))

    # a duplicated frame: returned once
    k = len(fr) // 3
    d = data[:fr[k].end] + data[fr[k].offset:fr[k].end] + data[fr[k].end:]
    damage = []
    ev = darkdaq.events(str(_damaged(tmp_path, "dup.dkr", d)), strict=False, damage=damage)
    assert _same_rows(ev, good)
    assert [x.kind for x in damage] == ["duplicate"]
    assert damage[0].offset == fr[k].end
    run = darkdaq.RunFile(str(tmp_path / "dup.dkr"), strict=False)
    assert len(list(run)) == len(fr) and [x.kind for x in run.damage] == ["duplicate"]

    # bytes appended after the trailer
    run = darkdaq.RunFile(str(_damaged(tmp_path, "app.dkr", data + b"\x5a" * 100)),
                          strict=False)
    assert len(list(run)) == len(fr) and run.stop_offset == len(data)
    assert not run.complete

    # the header frame damaged: still a run file, every event read
    h = bytearray(data)
    h[fr[0].offset + 30] ^= 0x20
    damage = []
    ev = darkdaq.events(str(_damaged(tmp_path, "head.dkr", h)), strict=False, damage=damage)
    assert _same_rows(ev, good)
    assert [(x.kind, x.offset) for x in damage] == [("skipped", 8)]

    # a second header and a trailer in the middle
    m = len(fr) // 2
    s2 = (data[:fr[m].offset] + rb.v2_frame(fr[0].payload, fr[m].sender, fr[m].seq) +
          data[fr[m].end:])
    run = darkdaq.RunFile(str(_damaged(tmp_path, "hdr2.dkr", s2)), strict=False)
    list(run)
    assert "second_header" in {x.kind for x in run.damage}
    s3 = (data[:fr[m].offset] + rb.v2_frame(fr[-1].payload, fr[m].sender, fr[m].seq) +
          data[fr[m].end:])
    run = darkdaq.RunFile(str(_damaged(tmp_path, "trl2.dkr", s3)), strict=False)
    list(run)
    assert "early_trailer" in {x.kind for x in run.damage}


def _kind(f):
    return f.payload[0] >> 3


def test_non_utf8_configuration_byte(tmp_path):
    """A Latin-1 byte in a configuration comment: the run reads from Python,
    config_text has it replaced (and says so), config_raw and the hash keep
    the bytes as read."""
    cfg = tmp_path / "latin1.ini"
    raw = b"# caf\xe9 au lait\n[builder]\nbuild_timeout_ms = 500\n"
    cfg.write_bytes(raw)
    out = tmp_path / "u.dkr"
    raws = sorted(str(p) for p in (DATA / "mix-clean").glob("*.raw"))
    r = subprocess.run([program("darkdaqd"), "--replay", *raws, "-o", str(out), "-c", str(cfg)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    recs = list(darkdaq.read_run(str(out)))
    h = recs[0].run_header
    assert h.config_text == "# caf\ufffd au lait\n[builder]\nbuild_timeout_ms = 500\n"
    assert h.config_text_replaced == 1
    assert h.config_raw == raw
    import hashlib
    assert h.config_hash == hashlib.sha256(raw).hexdigest()
    assert len(darkdaq.events(str(out))) == sum(r.kind == "event" for r in recs) > 0
    dump = _dump_json(out)
    assert dump[0]["config_text_replaced"] == 1
    # a valid configuration carries no config_raw, and says nothing replaced
    good = _replay(tmp_path, "mix-clean")
    h = next(iter(darkdaq.read_run(str(good)))).run_header
    assert h.config_raw == b"" and h.config_text_replaced == 0
    assert "config_text_replaced" not in _dump_json(good)[0]


def test_subscribe_loopback(tmp_path):
    path = _replay(tmp_path, "mix-clean")
    recs = [r for r in darkdaq.read_run(str(path)) if r.kind == "event"]
    ctx = zmq.Context()
    pub = ctx.socket(zmq.XPUB)
    port = pub.bind_to_random_port("tcp://127.0.0.1")
    sub = darkdaq.subscribe(f"tcp://127.0.0.1:{port}", tags=["four_muon"], timeout_ms=30000,
                            context=ctx)
    try:
        # the subscription reaches the publisher only once the generator runs
        import threading
        got = []
        want = [r for r in recs if r.event.HasField("tags") and r.event.tags.HasField("four_muon")]
        assert want

        def consume():
            for topic, rec in sub:
                got.append((topic, rec))
                if len(got) == len(want):
                    return
        t = threading.Thread(target=consume)
        t.start()
        assert pub.poll(30000)
        assert pub.recv() == b"\x01four_muon"
        for r in recs:
            fired = [f.name for f, _ in r.event.tags.ListFields()]
            pub.send_multipart([b"all", r.payload])
            for name in fired:
                pub.send_multipart([name.encode(), r.payload])
        t.join(60)
        assert not t.is_alive()
        assert [topic for topic, _ in got] == ["four_muon"] * len(want)
        assert [rec.event.trigger for _, rec in got] == [r.event.trigger for r in want]
        assert all(rec.kind == "event" for _, rec in got)
    finally:
        sub.close()
        pub.close(0)
        ctx.term()
    with pytest.raises(ValueError, match="unknown tag"):
        next(darkdaq.subscribe("tcp://127.0.0.1:1", tags=["zprime"]))
    with pytest.raises(ValueError, match="both"):
        next(darkdaq.subscribe("tcp://127.0.0.1:1", client_key="x"))


def test_curve_key_files(tmp_path):
    r = subprocess.run([program("darkdaq-keygen"), "mon"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    secret = darkdaq._read_key(str(tmp_path / "mon.key"), "secret-key")
    public = darkdaq._read_key(str(tmp_path / "mon.pub"), "public-key")
    assert zmq.curve_public(secret) == public
    with pytest.raises(darkdaq.DarkdaqError, match="no secret-key"):
        darkdaq._read_key(str(tmp_path / "mon.pub"), "secret-key")


def _big_file(path, mib):
    """A valid run file of about mib MiB: a header, events with 4 KiB of
    fragment bytes each, a trailer."""
    def frame(rec):
        return rb.v1_frame(rec.SerializeToString())
    n = 0
    with open(path, "wb") as f:
        f.write(frame(pb.Record(run_header=pb.RunHeader(run=9))))
        raw = bytes(range(256)) * 16
        while f.tell() < mib << 20:
            ev = pb.Event(trigger=n + 1, time_ticks=n * 100, sources=[0],
                          fragments=[pb.Fragment(source=0, good=True, raw=raw)])
            ev.tags.four_muon.dimuon_m_gev.extend([1.0, 2.0])
            f.write(frame(pb.Record(event=ev)))
            n += 1
        f.write(frame(pb.Record(run_trailer=pb.RunTrailer(end_reason="stop"))))
    return n


def test_peak_memory_bounded_on_large_file(tmp_path):
    path = tmp_path / "big.dkr"
    n = _big_file(path, 300)
    code = (f"import resource, darkdaq; e = darkdaq.events({str(path)!r}, columns=['trigger']);"
            f"k = sum(1 for r in darkdaq.read_run({str(path)!r}));"
            "print(len(e), k, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    r = subprocess.run([PY, "-c", code], env=ENV, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    rows, records, rss_kib = map(int, r.stdout.split())
    assert rows == n and records == n + 2
    # Bounded well below the file: a reader that held the file (or its
    # records) would need more than the file's 300 MiB.  Alone this measures
    # about 57 MiB; inside the full suite on a busy 2-core machine it was
    # seen at 165 MiB (cause not yet found), hence two thirds of the file.
    assert rss_kib < 200 * 1024, f"peak RSS {rss_kib} KiB on a {path.stat().st_size} byte file"


def test_generated_module_is_protocs(tmp_path):
    subprocess.run(["protoc", f"--proto_path={ROOT / 'proto'}", f"--python_out={tmp_path}",
                    str(ROOT / "proto" / "darkdaq.proto")], check=True, timeout=60)
    assert (tmp_path / "darkdaq_pb2.py").read_bytes() == \
        (ROOT / "proto" / "darkdaq" / "darkdaq_pb2.py").read_bytes(), \
        "proto/darkdaq/darkdaq_pb2.py is stale: regenerate it with protoc"


def test_venv_install_as_readme_says(tmp_path):
    readme = (ROOT / "README.md").read_text()
    cmd = re.search(r"^ *(/usr/bin/python3 -m venv --system-site-packages (\S+) &&\s*"
                    r"\2/bin/pip install --no-build-isolation \./proto)$", readme, re.M)
    assert cmd, "README's venv install line not found"
    src = tmp_path / "src"
    shutil.copytree(ROOT / "proto", src / "proto", ignore=shutil.ignore_patterns("build", "*.egg-info"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run(cmd.group(1).replace(cmd.group(2), str(tmp_path / "V")), shell=True,
                       cwd=src, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    run = _replay(tmp_path, "zprime-m3")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = ("import darkdaq, sys; e = darkdaq.events(sys.argv[1]);"
            "print(darkdaq.__file__); print(len(e), int(e['zprime_invisible'].sum()))")
    r = subprocess.run([str(tmp_path / "V" / "bin" / "python"), "-c", code, str(run)],
                       cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    where, counts = r.stdout.splitlines()
    assert where.startswith(str(tmp_path / "V"))
    js = [j for j in _dump_json(run) if j["type"] == "event"]
    assert counts == f"{len(js)} {sum('zprime_invisible' in j['tags'] for j in js)}"
