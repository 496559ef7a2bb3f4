# SPDX-License-Identifier: Apache-2.0
"""Physics sanity of darkdaq-sim through the whole chain: darkdaq-sim ->
darkdaqd --replay -> darkdaq-dump --json.  Prints an efficiency table per
process and tag, and checks the peaks the tags must find: the Z' recoil
mass, the four-muon dimuon mass, the displaced vertex radius, and that
Bhabha and qqbar events almost never fake a Z' or a displaced vertex."""
import collections
import glob
import json
import math
import os
import statistics
import subprocess

import pytest

BUILD = os.environ.get("DARKDAQ_BUILD", "build")
BIN = os.path.join(BUILD, "bin")
SIGNAL_TAG = {
    "zprime": "zprime_invisible", "mumutautau": "mumu_tautau", "fourmu": "four_muon",
    "tau1x3": "tau_1x3", "displaced": "displaced_vertex", "idm": "idm_dark_higgs",
    "single_photon": "single_photon", "three_photon": "three_photon",
}


def chain(tmp_path, name, *args):
    """Simulates, replays and dumps; returns (truth lines, {trigger: event})."""
    out = tmp_path / name
    subprocess.run([os.path.join(BIN, "darkdaq-sim"), "-o", str(out)] + [str(a) for a in args],
                   check=True, capture_output=True)
    run = str(tmp_path / (name + ".dkr"))
    files = sorted(glob.glob(str(out / "board-*.raw")))
    p = subprocess.run([os.path.join(BIN, "darkdaqd"), "--replay"] + files + ["-o", run],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    p = subprocess.run([os.path.join(BIN, "darkdaq-dump"), "--json", run],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    events = {}
    for line in p.stdout.splitlines():
        rec = json.loads(line)
        if rec.get("type") == "event":
            events[rec["trigger"]] = rec
    with open(out / "truth.jsonl") as f:
        truth = [json.loads(line) for line in f]
    assert len(events) == len(truth)
    return truth, events


def efficiency_table(truth, events):
    n = collections.Counter()
    tagged = collections.defaultdict(collections.Counter)
    for t in truth:
        n[t["process"]] += 1
        for tag in events[t["trigger"]]["tags"]:
            tagged[t["process"]][tag] += 1
    tags = sorted({tag for c in tagged.values() for tag in c})
    print("\nefficiency per process (rows) and tag (columns)")
    print("%-14s %6s " % ("process", "events") + " ".join("%8.8s" % t for t in tags))
    for p in sorted(n):
        print("%-14s %6d " % (p, n[p]) +
              " ".join("%8.3f" % (tagged[p][t] / n[p]) for t in tags))
    return {p: {t: tagged[p][t] / n[p] for t in tags} for p in n}


def test_mix_efficiency_table(tmp_path):
    truth, events = chain(tmp_path, "mix", "-n", 3000, "--seed", 31)
    eff = efficiency_table(truth, events)
    for process, tag in SIGNAL_TAG.items():
        assert eff[process][tag] > 0.25, (process, tag, eff[process])


@pytest.mark.parametrize("mass", [1.0, 3.0, 6.0])
def test_zprime_recoil_mass_peak(tmp_path, mass):
    truth, events = chain(tmp_path, "zp", "-n", 1000, "--seed", 3, "--process", "zprime",
                          "--mass", mass)
    m = [math.sqrt(max(e["tags"]["zprime_invisible"]["recoil_m2_gev2"], 0.0))
         for e in events.values() if "zprime_invisible" in e["tags"]]
    print("\nzprime m=%g: %d of %d tagged, median recoil mass %.4f GeV"
          % (mass, len(m), len(events), statistics.median(m)))
    assert len(m) > 0.3 * len(events)
    assert abs(statistics.median(m) - mass) < 0.050


def test_fourmu_dimuon_mass_peak(tmp_path):
    mass = 2.0
    truth, events = chain(tmp_path, "fm", "-n", 1000, "--seed", 5, "--process", "fourmu",
                          "--mass", mass)
    tagged = [e["tags"]["four_muon"]["dimuon_m_gev"] for e in events.values()
              if "four_muon" in e["tags"]]
    hist = collections.Counter(round(x / 0.02) for pairs in tagged for x in pairs)
    peak = hist.most_common(1)[0][0] * 0.02
    near = sum(1 for pairs in tagged if any(abs(x - mass) < 0.05 for x in pairs))
    print("\nfourmu m=%g: %d tagged, dimuon peak %.3f GeV, %d with a pair within 50 MeV"
          % (mass, len(tagged), peak, near))
    assert len(tagged) > 0.3 * len(events)
    assert abs(peak - mass) < 0.05
    assert near > 0.9 * len(tagged)


RXY_BINS = [(0.2, 1.0), (1.0, 5.0), (5.0, 20.0), (20.0, 60.0)]


@pytest.mark.parametrize("ctau", [2.0, 20.0])
def test_displaced_vertex_radius(tmp_path, ctau):
    """Over r_xy from 0.2 to 60 cm, in bins: most vertices are found, and the
    found one sits at the true radius (within 5 %, 0.05 cm below 1 cm)."""
    truth, events = chain(tmp_path, "dv", "-n", 1500, "--seed", 7, "--process", "displaced",
                          "--ctau-cm", ctau)
    inside = collections.Counter()
    tagged = collections.Counter()
    matched = collections.Counter()
    for t in truth:
        r = t["r_xy_cm"]
        b = next((b for b in RXY_BINS if b[0] <= r < b[1] or r == b[1] == 60.0), None)
        if b is None:
            continue
        inside[b] += 1
        tags = events[t["trigger"]]["tags"]
        if "displaced_vertex" not in tags:
            continue
        tagged[b] += 1
        best = min(abs(c["r_xy_cm"] - r) for c in tags["displaced_vertex"]["candidates"])
        matched[b] += best <= 0.05 * max(r, 1.0)
    print("\ndisplaced ctau=%g cm: r_xy bin, events, tagged, r_xy within 5 %%" % ctau)
    for b in RXY_BINS:
        print("  [%4.1f, %4.1f) cm %5d %5d %5d" % (b[0], b[1], inside[b], tagged[b], matched[b]))
    assert sum(inside.values()) > 500
    assert sum(tagged.values()) > 0.5 * sum(inside.values())
    assert sum(matched.values()) > 0.95 * sum(tagged.values())
    for b in RXY_BINS:
        if inside[b] >= 30:
            assert tagged[b] > 0.3 * inside[b], b
            assert matched[b] > 0.9 * tagged[b], b


@pytest.mark.parametrize("process", ["bhabha", "qqbar"])
def test_backgrounds_rarely_fake_signals(tmp_path, process):
    truth, events = chain(tmp_path, process, "-n", 2000, "--seed", 13, "--process", process)
    fakes = sum(1 for e in events.values()
                if {"zprime_invisible", "displaced_vertex"} & set(e["tags"]))
    print("\n%s: %d of %d tagged zprime_invisible or displaced_vertex"
          % (process, fakes, len(events)))
    assert fakes < 0.01 * len(events)
