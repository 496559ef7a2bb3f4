# SPDX-License-Identifier: Apache-2.0
"""The /metrics exposition as a Prometheus client reads it.

The C test tests/test_metrics.c serves sample counters through metrics.c on
a free loopback port and fetches them over HTTP; with DARKDAQ_METRICS_BODY it
also writes the body it fetched.  Here that body goes through
prometheus_client's own parser (Debian's python3-prometheus-client)."""
import os
import subprocess

from prometheus_client.parser import text_string_to_metric_families

from conftest import BUILD, ROOT


def fetched_body(tmp_path):
    prog = BUILD / "tests" / "test_metrics"
    assert prog.exists(), f"{prog} is not built: run make first"
    out = tmp_path / "body.txt"
    env = dict(os.environ, DARKDAQ_METRICS_BODY=str(out))
    run = subprocess.run([str(prog), "serves_metrics"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "ok   serves_metrics" in run.stdout
    return out.read_text(encoding="utf-8")


def test_exposition_parses_with_prometheus_client(tmp_path):
    text = fetched_body(tmp_path)
    families = {f.name: f for f in text_string_to_metric_families(text)}
    # the parser names counters without their _total suffix
    assert set(families) == {"darkdaq_source_fragments", "darkdaq_events",
                             "darkdaq_ring_occupancy_bytes", "darkdaq_busy_seconds"}
    assert families["darkdaq_source_fragments"].type == "counter"
    assert families["darkdaq_ring_occupancy_bytes"].type == "gauge"
    assert families["darkdaq_events"].documentation == "Events built, per status flag."

    frags = {s.labels["source"]: s.value
             for s in families["darkdaq_source_fragments"].samples}
    # the escaped label value comes back as it was
    assert frags == {"klm": 1000.0, 'svd "tricky" \\ name\nx': 999.0}
    events = {s.labels["status"]: s.value for s in families["darkdaq_events"].samples}
    assert events == {"complete": 990.0, "incomplete": 9.0, "corrupt": 1.0}
    busy = families["darkdaq_busy_seconds"].samples
    assert [(s.name, s.value) for s in busy] == [("darkdaq_busy_seconds_total", 1.25)]
