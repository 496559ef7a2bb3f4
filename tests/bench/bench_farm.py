# SPDX-License-Identifier: Apache-2.0
"""bench_farm: the store on another host of the namespace bed (veth and a
bridge, CURVE) against the store beside the daemon on loopback (CURVE too),
200,000 triggers of four simulated boards each; events/s from start to the
store's confirmation of the trailer, and the ratio of the two measured in
the same run.  Needs root (network namespaces).  Prints, never fails on a
speed: the figures go into the note."""
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from netbed import NetBed, wait_until  # noqa: E402
from test_farm_links import Farm  # noqa: E402

TRIGGERS = int(os.environ.get("DARKDAQ_BENCH_FARM_TRIGGERS", "200000"))


def one(loopback):
    with tempfile.TemporaryDirectory(prefix="ddqbf") as tmp, NetBed(("readout", "storage",
                                                                      "shift")) as bed:
        farm = Farm(Path(tmp), bed, TRIGGERS, loopback=loopback)
        farm.store("store")
        wait_until(lambda: farm.status()["links"]["storage"]["connected"] == 1, "the store")
        farm.ok("configure")
        t0 = time.monotonic()
        farm.ok("start", "--run", "1")
        wait_until(lambda: farm.status()["builder"].get("events") == TRIGGERS, "every event",
                   bound_s=3600, step_s=0.2)
        r = farm.ok("stop")
        dt = time.monotonic() - t0
        assert r["store_confirmed"] is True, r
        farm.log.close()
        return TRIGGERS / dt


def main():
    if os.geteuid() != 0:
        print("bench_farm: needs root for network namespaces; not run")
        return
    lo = one(True)
    veth = one(False)
    print("store on loopback (CURVE):        %10.0f events/s" % lo)
    print("store on another host (veth, CURVE): %7.0f events/s" % veth)
    print("ratio veth / loopback:            %10.2f" % (veth / lo))


if __name__ == "__main__":
    main()
