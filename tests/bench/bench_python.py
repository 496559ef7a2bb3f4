# SPDX-License-Identifier: Apache-2.0
"""make bench, the Python side: read_run() MB/s, events() rows/s and
darkdaq-dump --json MB/s on the same run file (1 M events replayed from the
simulator's mix unless DARKDAQ_BENCH_EVENTS says otherwise), with their
ratios.  Figures only: nothing here passes or fails on a speed."""
import os
import subprocess
import sys
import tempfile
import time

import darkdaq

BUILD = os.environ.get("BUILD", "build")
EVENTS = int(os.environ.get("DARKDAQ_BENCH_EVENTS", "200000"))


def best(fn, reps=3):
    """The best of reps runs of fn by wall clock, and its result.  On a
    shared machine the CPU time of this process (printed too, as "cpu") says
    more about the code than the wall clock does."""
    t, out = None, None
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        if t is None or dt < t:
            t = dt
        CPU[fn] = min(CPU.get(fn, dc), dc)
    return t, out


CPU = {}


def main():
    with tempfile.TemporaryDirectory(prefix="darkdaq-bench-") as tmp:
        subprocess.run([f"{BUILD}/bin/darkdaq-sim", "-n", str(EVENTS), "--seed", "7",
                        "--process", "mix", "-o", tmp], check=True, stdout=subprocess.DEVNULL)
        raws = sorted(os.path.join(tmp, f) for f in os.listdir(tmp) if f.endswith(".raw"))
        run = os.path.join(tmp, "run.dkr")
        subprocess.run([f"{BUILD}/bin/darkdaqd", "--replay", *raws, "-o", run], check=True,
                       stdout=subprocess.DEVNULL)
        for r in raws:
            os.unlink(r)
        size = os.path.getsize(run)
        f_read = lambda: sum(1 for _ in darkdaq.read_run(run))  # noqa: E731
        f_ev = lambda: darkdaq.events(run)  # noqa: E731
        t_read, n_rec = best(f_read)
        t_ev, ev = best(f_ev)
        t_col, _ = best(lambda: darkdaq.events(run, columns=["trigger", "zprime_invisible",
                                                             "zprime_invisible_recoil_m_gev"]))

        def dump():
            with open(os.devnull, "wb") as null:
                subprocess.run([f"{BUILD}/bin/darkdaq-dump", "--json", run], check=True,
                               stdout=null)
        t_dump, _ = best(dump)
        mb = size / 1e6
        print(f"run file: {mb:.1f} MB, {n_rec} records, {len(ev)} events")
        print(f"read_run():            {mb / t_read:8.1f} MB/s  ({n_rec / t_read:,.0f} records/s)")
        print(f"events():              {len(ev) / t_ev:8,.0f} rows/s ({mb / t_ev:.1f} MB/s)")
        print(f"events(3 columns):     {len(ev) / t_col:8,.0f} rows/s")
        print(f"darkdaq-dump --json:   {mb / t_dump:8.1f} MB/s  ({len(ev) / t_dump:,.0f} events/s)")
        print(f"cpu time: read_run() {mb / CPU[f_read]:.1f} MB/s, "
              f"events() {len(ev) / CPU[f_ev]:,.0f} rows/s")
        print(f"ratios: read_run / dump --json {t_dump / t_read:.2f}; "
              f"events() / dump --json {t_dump / t_ev:.2f}")
        print(f"targets: read_run 100 MB/s ({mb / t_read / 100:.2f} of it), "
              f"events() 1 M rows/s ({len(ev) / t_ev / 1e6:.2f} of it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
