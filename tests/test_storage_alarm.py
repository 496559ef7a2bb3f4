# SPDX-License-Identifier: Apache-2.0
"""darkdaqd says when storage is gone: records held with no store to take
them for storage_warn_ms are logged (endpoint, records held), shown in
status and as a darkdaq-mon alarm, and cleared when a store has a session
again; nothing held is lost meanwhile.  Real processes and sockets; every
wait is on the state itself, bounded."""
import signal

from test_live import live_factory, run_files_events, sim_sources  # noqa: F401


def test_storage_gone_is_logged_shown_and_cleared(tmp_path, live_factory):  # noqa: F811
    n = 4000
    lv = live_factory(sim_sources(n, 31, rate=2000), daemon_extra="storage_warn_ms = 300\n")
    lv.ctl("configure")
    lv.ctl("start", "--run", "5")
    lv.wait_for(lambda: lv.status()["storage"]["acked"] > 200, "the store to ack some")
    assert lv.status()["storage"]["gone"] is False
    lv.store.send_signal(signal.SIGKILL)
    lv.store.wait()
    st = lv.wait_for(lambda: (lambda s: s if s["gone"] else None)(lv.status()["storage"]),
                     "status to say storage is gone")
    assert st["gone_ms"] >= 300 and st["held_records"] > 0, st
    log = lv.wait_for(lambda: (lambda t: t if "storage: no store has a session" in t else None)(
        lv.daemon_log()), "the log line")
    line = [x for x in log.splitlines() if "storage: no store has a session" in x][0]
    assert lv.ep["storage"] in line and "records (" in line, line
    text = lv.ctl("status", json_out=False).stdout
    assert "STORAGE  GONE" in text, text
    lv.start_store()
    lv.wait_for(lambda: lv.status()["storage"]["gone"] is False, "the alarm to clear")
    lv.wait_for(lambda: "storage: a store takes records again" in lv.daemon_log(),
                "the log to say it cleared")
    lv.wait_for(lambda: lv.status()["builder"].get("events") == n, "every event built",
                bound_s=120)
    r = lv.ctl("stop")
    assert r["store_confirmed"] is True, r
    triggers, reasons, _ = run_files_events(lv, 5)
    assert sorted(triggers) == list(range(1, n + 1))      # each exactly once
    assert lv.status()["storage"]["gone"] is False


def test_storage_gone_outside_a_run_while_records_are_held(tmp_path, live_factory):  # noqa: F811
    """A stop the store did not confirm leaves records held: the alarm goes
    on outside the run, and a store that comes back clears it."""
    lv = live_factory(sim_sources(300, 32, rate=3000),
                      daemon_extra="storage_warn_ms = 200\nstop_timeout_ms = 500\n")
    lv.store.send_signal(signal.SIGKILL)
    lv.store.wait()
    lv.ctl("configure")
    lv.ctl("start", "--run", "6")
    lv.wait_for(lambda: lv.status()["builder"].get("events") == 300, "every event built")
    r = lv.ctl("stop")
    assert r["store_confirmed"] is False, r
    lv.wait_for(lambda: lv.status()["storage"]["gone"], "the alarm outside the run")
    lv.start_store()
    lv.wait_for(lambda: lv.status()["storage"]["held_records"] == 0, "the store to take them")
    assert lv.status()["storage"]["gone"] is False
    triggers, reasons, _ = run_files_events(lv, 6)
    assert sorted(triggers) == list(range(1, 301))
