# SPDX-License-Identifier: Apache-2.0
"""The alerting rules and the Grafana dashboard installed with the units,
checked with promtool (Debian's prometheus package, the README's test
dependencies): the rules' unit tests pass, every panel expression is valid
PromQL, and every darkdaq_ metric the rules, their tests and the panels name
is one that a live darkdaqd's /metrics serves."""
import json
import os
import re
import shutil
import subprocess

import pytest

from test_live import sim_sources
from test_ops import Daemon

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
RULES = os.path.join(ROOT, "systemd", "prometheus", "darkdaq-alerts.yml")
RULE_TESTS = os.path.join(ROOT, "tests", "promtool", "darkdaq-alerts.test.yml")
DASHBOARD = os.path.join(ROOT, "systemd", "grafana", "darkdaq.json")
NAME = re.compile(r"\bdarkdaq_[a-z0-9_]*[a-z0-9]\b")


def promtool(*args, cwd=None):
    exe = shutil.which("promtool")
    assert exe, "promtool not found: install the README's test dependencies (prometheus)"
    return subprocess.run([exe] + list(args), capture_output=True, text=True, timeout=120,
                          cwd=cwd)


def panel_exprs():
    with open(DASHBOARD) as f:
        dash = json.load(f)
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    assert exprs and all(exprs)
    return exprs


def test_rules_are_valid_and_their_unit_tests_pass():
    p = promtool("check", "rules", RULES)
    assert p.returncode == 0, p.stdout + p.stderr
    p = promtool("test", "rules", os.path.basename(RULE_TESTS), cwd=os.path.dirname(RULE_TESTS))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "SUCCESS" in p.stdout


def test_every_rule_has_a_unit_test_that_fires_it():
    with open(RULES) as f:
        alerts = re.findall(r"^\s*- alert: (\w+)", f.read(), re.M)
    with open(RULE_TESTS) as f:
        tests = f.read()
    assert len(alerts) >= 7
    for a in alerts:
        # an eval of this alert that expects at least one alert (not "[]")
        assert re.search(r"alertname: %s\n\s+exp_alerts:\n" % a, tests), a


def test_panel_expressions_are_valid_promql(tmp_path):
    scratch = tmp_path / "panels.yml"
    lines = ["groups:", "  - name: panels", "    rules:"]
    for i, e in enumerate(panel_exprs()):
        lines += ["      - record: panel_%d" % i, "        expr: %s" % json.dumps(e)]
    scratch.write_text("\n".join(lines) + "\n")
    p = promtool("check", "rules", str(scratch))
    assert p.returncode == 0, p.stdout + p.stderr


@pytest.fixture
def served(tmp_path):
    d = Daemon(tmp_path, sim_sources(0, 1, rate=100, boards=2), store=False)
    try:
        text = d.wait_for(d.scrape, "the metrics endpoint")
    finally:
        d.close()
    return set(re.findall(r"^# TYPE (\S+) ", text, re.M))


def test_every_metric_named_exists_in_metrics(served):
    with open(RULES) as f:
        named = {"rules": set(NAME.findall(f.read()))}
    with open(RULE_TESTS) as f:
        named["rule tests"] = set(NAME.findall(f.read()))
    named["dashboard"] = set(n for e in panel_exprs() for n in NAME.findall(e))
    assert len(named["dashboard"]) >= 10
    for where, names in named.items():
        assert names, where
        missing = sorted(names - served)
        assert not missing, "%s name metrics /metrics does not serve: %s" % (where, missing)
