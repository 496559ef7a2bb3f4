# SPDX-License-Identifier: Apache-2.0
"""darkdaq-sim: determinism, the byte format of every fragment, the stream
without faults, trigger-number wrap, each injected fault exactly as
truth.jsonl declares it, and the physics the records carry (checked here in
pure Python, independently of the tagger)."""
import json
import math
import os
import statistics
import signal
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import rawfmt  # noqa: E402

BUILD = os.environ.get("DARKDAQ_BUILD", "build")
SIM = os.path.join(BUILD, "bin", "darkdaq-sim")
PROCESSES = ["zprime", "mumu", "mumutautau", "fourmu", "tau1x3", "displaced", "idm",
             "single_photon", "three_photon", "bhabha", "qqbar"]
FAULT_OPTIONS = {"--crc-errors": "crc", "--missing": "missing", "--duplicates": "dup",
                 "--late": "late", "--junk": "junk", "--truncated": "truncflag",
                 "--busy": "busy"}
LATE_BY = 3


def sim(out, *args, check=True):
    p = subprocess.run([SIM, "-o", str(out)] + [str(a) for a in args],
                       capture_output=True, text=True)
    if check:
        assert p.returncode == 0, p.stderr
    return p


def truth(out):
    with open(os.path.join(out, "truth.jsonl")) as f:
        return [json.loads(line) for line in f]


def board_files(out, boards=4):
    return [os.path.join(out, "board-%d.raw" % b) for b in range(boards)]


def faults_of(line):
    """{board: set of kinds} of one truth line."""
    res = {}
    for x in line["faults"]:
        kind, board = x.split(":")
        res.setdefault(int(board), set()).add(kind)
    return res


# ---- options ----

def test_help_and_version():
    p = subprocess.run([SIM, "--help"], capture_output=True, text=True)
    assert p.returncode == 0 and "Usage" in p.stdout
    for name in PROCESSES:
        assert name in p.stdout
    p = subprocess.run([SIM, "--version"], capture_output=True, text=True)
    assert p.returncode == 0 and p.stdout.startswith("darkdaq-sim ")


@pytest.mark.parametrize("args,name", [
    (["--boards", "0"], "--boards"),
    (["--boards", "65"], "--boards"),
    (["--raw-bytes", "6"], "--raw-bytes"),
    (["--crc-errors", "1.5"], "--crc-errors"),
    (["--missing", "x"], "--missing"),
    (["-n", "-3"], "--events"),
    (["--process", "nosuch"], "nosuch"),
    (["--process", "zprime", "--mass", "10.5"], "--mass"),
    (["--process", "mumutautau", "--mass", "3"], "--mass"),
    (["--first-trigger", "4294967296"], "--first-trigger"),
    (["--desync-board", "2"], "--desync-board"),
    (["--desync-board", "7", "--desync-at", "3"], "--desync-board"),
    (["--bogus"], "--bogus"),
])
def test_bad_option_exits_2_naming_it(tmp_path, args, name):
    p = sim(tmp_path / "out", "-n", 5, *args, check=False)
    assert p.returncode == 2, p.stderr
    assert name in p.stderr


def test_missing_output_is_usage_error():
    p = subprocess.run([SIM, "-n", "3"], capture_output=True, text=True)
    assert p.returncode == 2 and "--output" in p.stderr


def test_unwritable_output_exits_1_naming_path(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    p = sim(blocker, "-n", 3, check=False)
    assert p.returncode == 1 and str(blocker) in p.stderr
    p = sim(blocker / "sub", "-n", 3, check=False)
    assert p.returncode == 1 and str(blocker / "sub") in p.stderr
    # a full device behind one board file: the write error names that file
    out = tmp_path / "full"
    out.mkdir()
    os.symlink("/dev/full", out / "board-1.raw")
    p = sim(out, "-n", 2000, check=False)
    assert p.returncode == 1 and "board-1.raw" in p.stderr


# ---- determinism ----

def _contents(out):
    return {name: (out / name).read_bytes() for name in sorted(os.listdir(out))}


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    args = ["-n", 300, "--crc-errors", 0.02, "--junk", 0.02, "--late", 0.02]
    sim(tmp_path / "a", "--seed", 42, *args)
    sim(tmp_path / "b", "--seed", 42, *args)
    sim(tmp_path / "c", "--seed", 43, *args)
    a, b, c = (_contents(tmp_path / x) for x in "abc")
    assert sorted(a) == ["board-0.raw", "board-1.raw", "board-2.raw", "board-3.raw",
                         "truth.jsonl"]
    assert a == b
    for name in a:
        assert a[name] != c[name], name


def test_faults_do_not_change_the_physics(tmp_path):
    sim(tmp_path / "clean", "-n", 200, "--seed", 5)
    sim(tmp_path / "faulty", "-n", 200, "--seed", 5, "--missing", 0.1, "--junk", 0.1)
    for t1, t2 in zip(truth(tmp_path / "clean"), truth(tmp_path / "faulty")):
        t2 = dict(t2, faults=[])
        assert t1 == t2


# ---- the clean stream ----

def check_clean(out, n, first=1, boards=4, raw_bytes=64):
    tr = truth(out)
    assert len(tr) == n
    assert [t["trigger"] for t in tr] == [(first + i) % 2**32 for i in range(n)]
    assert all(t["faults"] == [] for t in tr)
    per_board = []
    for b, path in enumerate(board_files(out, boards)):
        items = rawfmt.read(path)
        assert all(it[0] == "fragment" for it in items), path
        frags = [it[1] for it in items]
        assert len(frags) == n
        for f, t in zip(frags, tr):
            assert f.header_ok() and f.ok, (path, f.offset, f.errors)
            assert f.source == b and f.flags == 0 and f.trigger == t["trigger"]
            assert f.bits & 0x100
            assert len(f.blocks) == 1
            btype, count, nbytes, _ = f.blocks[0]
            want = {0: 1, 1: 2, 2: 3}.get(b, 255)
            assert btype == want
            if btype == 255:
                assert count == 0 and nbytes == raw_bytes
        per_board.append(frags)
    for i in range(n):
        assert len({f[i].time for f in per_board}) == 1
        assert len({f[i].bits for f in per_board}) == 1
        if i:
            assert per_board[0][i].time > per_board[0][i - 1].time
    return per_board


def test_clean_mix_one_good_fragment_per_board_and_trigger(tmp_path):
    sim(tmp_path, "-n", 400)
    per_board = check_clean(tmp_path, 400)
    tracks = per_board[0]
    for f in tracks:
        for px, py, pz, d0, z0, q, quality, hits in f.records(1):
            assert q in (1, -1) and hits >= 3
    for f in per_board[1]:
        for e, th, ph, t, ncr in f.records(2):
            assert 0 <= th <= 3141593 and -3141593 <= ph <= 3141593 and ncr >= 1
    for f in per_board[2]:
        for th, ph, layers, sector, res in f.records(3):
            assert 0 <= th <= 3141593 and layers >= 1 and res == 0
    procs = {t["process"] for t in truth(tmp_path)}
    assert procs == set(PROCESSES)


@pytest.mark.parametrize("process", PROCESSES)
def test_each_process_alone(tmp_path, process):
    sim(tmp_path, "-n", 60, "--process", process, "--seed", 9)
    per_board = check_clean(tmp_path, 60)
    assert {t["process"] for t in truth(tmp_path)} == {process}
    n_tracks = [len(f.records(1)) for f in per_board[0]]
    n_muons = [len(f.records(3)) for f in per_board[2]]
    if process in ("single_photon", "three_photon"):
        assert max(n_tracks) == 0
    if process in ("zprime", "mumu", "fourmu"):
        assert statistics.median(n_muons) >= 1
    if process in ("mumutautau", "fourmu", "tau1x3", "idm"):
        assert statistics.median(n_tracks) >= 3


def test_boards_and_raw_bytes(tmp_path):
    sim(tmp_path / "six", "-n", 20, "--boards", 6, "--raw-bytes", 256)
    check_clean(tmp_path / "six", 20, boards=6, raw_bytes=256)
    assert not (tmp_path / "six" / "board-6.raw").exists()
    sim(tmp_path / "two", "-n", 20, "--boards", 2)
    assert sorted(os.listdir(tmp_path / "two")) == ["board-0.raw", "board-1.raw",
                                                    "truth.jsonl"]
    check_clean(tmp_path / "two", 20, boards=2)


def test_first_trigger_wraps_to_zero(tmp_path):
    sim(tmp_path, "-n", 30, "--first-trigger", 2**32 - 10)
    per_board = check_clean(tmp_path, 30, first=2**32 - 10)
    assert [f.trigger for f in per_board[3][8:12]] == [2**32 - 2, 2**32 - 1, 0, 1]


# ---- faults ----

def expected_board_stream(clean, tr, board, desync=None):
    """What board `board` must send, from the clean run and the declared
    faults: a list of ("junk",) and ("frag", clean fragment, flags, crc_bad,
    trigger number)."""
    exp, late = [], []
    for i, t in enumerate(tr):
        kinds = faults_of(t).get(board, set())
        if "junk" in kinds:
            exp.append(("junk",))
        if not kinds & {"missing", "desync"}:
            f = clean[i]
            flags = (1 if "busy" in kinds else 0) | (2 if "truncflag" in kinds else 0)
            trig = f.trigger
            if desync is not None and i > desync:
                trig = (trig - 1) % 2**32
            entry = ("frag", f, flags, "crc" in kinds, trig)
            if "late" in kinds:
                late.append((i + LATE_BY, entry))
            else:
                exp.append(entry)
                if "dup" in kinds:
                    exp.append(entry)
        exp.extend(e for due, e in late if due <= i)
        late = [(due, e) for due, e in late if due > i]
    exp.extend(e for _, e in late)
    return exp


def check_item(actual, want):
    if want[0] == "junk":
        assert actual[0] == "junk", actual
        assert 4 <= actual[2] <= 64 and actual[2] % 4 == 0
        return
    _, clean, flags, crc_bad, trig = want
    assert actual[0] == "fragment", actual
    f = actual[1]
    assert (f.source, f.trigger, f.time, f.bits, f.flags, f.size) == \
        (clean.source, trig, clean.time, clean.bits, flags, clean.size)
    if crc_bad:
        assert not f.crc_ok
        a = f.raw[32:f.size - 4]
        b = clean.raw[32:clean.size - 4]
        if flags == 0:
            diff = sum(bin(x ^ y).count("1") for x, y in zip(a, b))
            assert diff == 1
    else:
        assert f.ok and f.payload == clean.payload, f.errors


def check_faulty(tmp_path, n, fault_args, seed=11, desync=(None, None)):
    sim(tmp_path / "clean", "-n", n, "--seed", seed)
    sim(tmp_path / "faulty", "-n", n, "--seed", seed, *fault_args)
    tr = truth(tmp_path / "faulty")
    assert [t["trigger"] for t in tr] == [t["trigger"] for t in truth(tmp_path / "clean")]
    for b in range(4):
        clean = rawfmt.fragments(board_files(tmp_path / "clean")[b])
        items = rawfmt.read(board_files(tmp_path / "faulty")[b])
        want = expected_board_stream(clean, tr, b, desync[1] if b == desync[0] else None)
        assert len(items) == len(want), b
        for it, w in zip(items, want):
            check_item(it, w)
    return tr


@pytest.mark.parametrize("option", sorted(FAULT_OPTIONS))
def test_each_fault_exactly_as_declared(tmp_path, option):
    tr = check_faulty(tmp_path, 300, [option, 0.05])
    kinds = [x.split(":")[0] for t in tr for x in t["faults"]]
    assert kinds, "no fault injected"
    assert set(kinds) == {FAULT_OPTIONS[option]}
    assert 0.02 < len(kinds) / (4 * 300) < 0.09


def test_all_faults_together(tmp_path):
    args = []
    for opt in FAULT_OPTIONS:
        args += [opt, 0.04]
    tr = check_faulty(tmp_path, 400, args)
    kinds = {x.split(":")[0] for t in tr for x in t["faults"]}
    assert kinds == set(FAULT_OPTIONS.values())


def test_desync_board_stays_one_behind(tmp_path):
    tr = check_faulty(tmp_path, 200, ["--desync-board", 2, "--desync-at", 100],
                      desync=(2, 100))
    assert [t["faults"] for t in tr if t["faults"]] == [["desync:2"]]
    assert tr[100]["faults"] == ["desync:2"]
    b0 = rawfmt.fragments(board_files(tmp_path / "faulty")[0])
    b2 = rawfmt.fragments(board_files(tmp_path / "faulty")[2])
    assert len(b0) == 200 and len(b2) == 199
    # as the reference data's desync: up to index 99 in step; then board 2's
    # fragment numbered T carries the time of trigger T + 1
    for i in range(100):
        assert (b2[i].trigger, b2[i].time) == (b0[i].trigger, b0[i].time)
    for i in range(100, 199):
        assert b2[i].trigger == b0[i].trigger and b2[i].time == b0[i + 1].time


def test_interleaved_holds_every_board_with_faults(tmp_path):
    n = 300
    args = ["--missing", 0.03, "--duplicates", 0.03, "--late", 0.03, "--junk", 0.03,
            "--crc-errors", 0.03, "--busy", 0.03]
    sim(tmp_path / "clean", "-n", n, "--seed", 21)
    sim(tmp_path / "mixed", "-n", n, "--seed", 21, "--interleaved", *args)
    assert sorted(os.listdir(tmp_path / "mixed")) == ["all.raw", "truth.jsonl"]
    tr = truth(tmp_path / "mixed")
    items = rawfmt.read(str(tmp_path / "mixed" / "all.raw"))
    n_junk = sum(1 for t in tr for x in t["faults"] if x.startswith("junk:"))
    assert sum(1 for it in items if it[0] == "junk") == n_junk
    assert not any(it[0] == "bad" for it in items)
    for b in range(4):
        clean = rawfmt.fragments(board_files(tmp_path / "clean")[b])
        mine = [it for it in items if it[0] == "fragment" and it[1].source == b]
        want = [w for w in expected_board_stream(clean, tr, b) if w[0] == "frag"]
        assert len(mine) == len(want)
        for it, w in zip(mine, want):
            check_item(it, w)
    # board order shuffled per trigger: not always 0, 1, 2, 3
    firsts = {it[1].source for it, prev in zip(items[1:], items) if it[0] == "fragment"
              and prev[0] == "fragment" and prev[1].trigger != it[1].trigger}
    assert len(firsts) > 1


# ---- physics, read back in Python ----

M_E = 0.00051099895


def beams():
    a = 0.083 / 2
    p_her = math.sqrt(7.004**2 - M_E**2)
    p_ler = math.sqrt(4.002**2 - M_E**2)
    return (7.004 + 4.002, (p_her + p_ler) * math.sin(a), 0.0, (p_her - p_ler) * math.cos(a))


def test_zprime_recoil_mass_from_the_records(tmp_path):
    sim(tmp_path, "-n", 400, "--process", "zprime", "--mass", 3, "--seed", 4)
    e, bx, by, bz = beams()
    m_mu = 0.1056583755
    rec = []
    for f in rawfmt.fragments(board_files(tmp_path)[0]):
        trk = f.records(1)
        if len(trk) != 2:
            continue
        ex, px, py, pz = e, bx, by, bz
        for tx, ty, tz, *_ in trk:
            p = [v * 1e-6 for v in (tx, ty, tz)]
            ex -= math.sqrt(sum(v * v for v in p) + m_mu**2)
            px -= p[0]
            py -= p[1]
            pz -= p[2]
        rec.append(math.sqrt(max(ex * ex - px * px - py * py - pz * pz, 0)))
    assert len(rec) > 200
    assert abs(statistics.median(rec) - 3.0) < 0.05


def test_displaced_tracks_pass_through_the_true_vertex(tmp_path):
    """The d0, z0 and phi0 of tracks from a displaced decay describe helices
    (daemon/physics/README.md's model) through the truth vertex."""
    sim(tmp_path, "-n", 300, "--process", "displaced", "--seed", 8, "--ctau-cm", 10)
    tr = truth(tmp_path)
    frags = rawfmt.fragments(board_files(tmp_path)[0])
    good = total = 0
    for t, f in zip(tr, frags):
        if not 0.5 <= t["r_xy_cm"] <= 60:
            continue
        total += 1
        vx, vy, vz = t["x_cm"], t["y_cm"], t["z_cm"]
        through = set()
        for px, py, pz, d0, z0, q, _, _ in f.records(1):
            px, py, pz, d0, z0 = px * 1e-6, py * 1e-6, pz * 1e-6, d0 * 1e-4, z0 * 1e-4
            pt = math.hypot(px, py)
            rho = pt / (0.299792458 * 1.5) * 100
            phi0 = math.atan2(py, px)
            cx, cy = (d0 + q * rho) * math.sin(phi0), -(d0 + q * rho) * math.cos(phi0)
            if abs(math.hypot(vx - cx, vy - cy) - rho) > 0.05:
                continue
            wx, wy = (vx - cx) / (-q * rho), (vy - cy) / (-q * rho)
            phi = math.atan2(wx, -wy)
            alpha = math.remainder(q * (phi0 - phi), 2 * math.pi)
            if abs(z0 + rho * alpha * pz / pt - vz) < 0.05:
                through.add(q)
        good += through == {1, -1}
    assert total > 100
    assert good / total > 0.85


# ---- --stream: one live board on stdout ----

def test_stream_equals_each_board_file(tmp_path):
    sim(tmp_path / "files", "-n", 300, "--seed", 21, "--boards", 5, "--raw-bytes", 32)
    for b in range(5):
        p = subprocess.run([SIM, "--stream", "--board", str(b), "-n", "300", "--seed", "21",
                            "--boards", "5", "--raw-bytes", "32"], capture_output=True)
        assert p.returncode == 0, p.stderr
        with open(tmp_path / "files" / ("board-%d.raw" % b), "rb") as f:
            assert p.stdout == f.read()


@pytest.mark.parametrize("args,name", [
    (["--stream", "-o", "x"], "--output"),
    (["--board", "1"], "--board"),
    (["--rate", "10"], "--rate"),
    (["--stream", "--board", "4"], "--board"),
    (["--stream", "--interleaved"], "--interleaved"),
    (["--stream", "--rate", "-1"], "--rate"),
])
def test_stream_option_errors_exit_2(tmp_path, args, name):
    extra = [] if "--stream" in args else ["-o", str(tmp_path / "o")]
    p = subprocess.run([SIM, "-n", "5"] + extra + args, capture_output=True, text=True)
    assert p.returncode == 2 and name in p.stderr, p.stderr


def test_stream_endless_ends_on_sigterm_after_a_whole_trigger(tmp_path):
    p = subprocess.Popen([SIM, "--stream", "--board", "1", "-n", "0", "--rate", "2000",
                          "--seed", "4"], stdout=subprocess.PIPE)
    first = p.stdout.read(4096)         # waits for the board to send
    assert first[:4] == rawfmt.MAGIC
    p.send_signal(signal.SIGTERM)
    rest = p.stdout.read()
    assert p.wait(timeout=30) == 0
    path = tmp_path / "s.raw"
    path.write_bytes(first + rest)
    items = rawfmt.scan(first + rest)
    assert items and all(x[0] == "fragment" for x in items)
    triggers = [x[1].trigger for x in items]
    assert triggers == list(range(1, len(triggers) + 1))


def test_stream_rate_paces_by_the_clock_and_keeps_the_bytes():
    """--rate: 1000 triggers at 2 kHz take at least half a second (the pacing
    is real), 1000 at 100 kHz come well within a generous bound (no write and
    sleep per trigger), and both give the unpaced bytes.  The figures within
    1 % are for make bench (bench_sim), not for a pass/fail test."""
    args = [SIM, "--stream", "--board", "2", "-n", "1000", "--seed", "8"]
    unpaced = subprocess.run(args, capture_output=True, timeout=60)
    assert unpaced.returncode == 0, unpaced.stderr
    for rate, at_least, at_most in ((2000, 0.499, 30.0), (100000, 0.0, 5.0)):
        t0 = time.monotonic()
        p = subprocess.run(args + ["--rate", str(rate)], capture_output=True, timeout=60)
        took = time.monotonic() - t0
        assert p.returncode == 0, p.stderr
        assert p.stdout == unpaced.stdout
        assert at_least <= took <= at_most, (rate, took)
