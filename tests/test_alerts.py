"""Alerting as code: Prometheus rules, their unit tests, the Alertmanager config and the runbooks.

Runs the real tools: promtool (Debian package ``prometheus``) and amtool (Debian package
``prometheus-alertmanager``). They are required, not optional: a missing binary fails the test
with the package to install (scripts/test installs both).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.tools import tool

ROOT = Path(__file__).resolve().parent.parent
ALERTS = ROOT / "alerts"
RULE_FILES = sorted((ALERTS / "rules").glob("*.yml"))
FIXTURE_RULE_FILES = sorted((ALERTS / "tests" / "fixtures").glob("*.yml"))
TEST_FILES = sorted((ALERTS / "tests").glob("*.yml"))
AM_CONFIG = ALERTS / "alertmanager.yml"
RUNBOOKS = ROOT / "docs" / "runbooks"
RUNBOOK_BASE = "https://github.com/ORG/party-platform-monitor/blob/main/"
SEVERITIES = {"page", "ticket"}
ANNOTATIONS = ("summary", "summary_vi", "description", "description_vi", "runbook_url")



def run(*args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def alerting_rules() -> list[dict]:
    rules = []
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            rules += [rule for rule in group["rules"] if "alert" in rule]
    return rules


ALERT_NAMES = sorted(rule["alert"] for rule in alerting_rules())


# --- the tools ----------------------------------------------------------------------------------


def test_rule_files_are_valid():
    assert RULE_FILES, "no rule files in alerts/rules/"
    run(tool("promtool"), "check", "rules", *map(str, RULE_FILES + FIXTURE_RULE_FILES))


@pytest.mark.parametrize("test_file", TEST_FILES, ids=lambda p: p.name)
def test_rule_unit_tests_pass(test_file):
    out = run(tool("promtool"), "test", "rules", str(test_file)).stdout
    assert "SUCCESS" in out


def test_alertmanager_config_is_valid():
    out = run(tool("amtool"), "check-config", str(AM_CONFIG)).stdout
    assert "SUCCESS" in out
    assert re.search(r"\b[1-9]\d* templates", out), f"the Vietnamese templates were not loaded:\n{out}"


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["severity=page", "platform=gqthc"], "oncall-page"),
        (["severity=page", "alertname=MonitorDown", "location=hanoi"], "oncall-page"),
        (["severity=ticket", "platform=gqthc"], "ops-ticket"),
        (["severity=ticket", "alertname=MonitorStoreBacklog"], "ops-ticket"),
        (["platform=sotaydangvien"], "ops-ticket"),  # no severity: the default, nothing is dropped
    ],
)
def test_routes(labels, receiver):
    out = run(tool("amtool"), "config", "routes", "test", f"--config.file={AM_CONFIG}", *labels).stdout
    assert out.split() == [receiver]


# --- the contract every alert keeps ---------------------------------------------------------------


@pytest.mark.parametrize("rule", alerting_rules(), ids=lambda r: r["alert"])
def test_alert_has_severity_bilingual_annotations_and_runbook(rule):
    assert rule.get("labels", {}).get("severity") in SEVERITIES
    annotations = rule.get("annotations", {})
    for key in ANNOTATIONS:
        assert annotations.get(key, "").strip(), f"{rule['alert']}: annotation {key} missing"
    assert annotations["summary_vi"] != annotations["summary"]
    url = annotations["runbook_url"]
    assert url == f"{RUNBOOK_BASE}docs/runbooks/{rule['alert']}.md"
    assert (ROOT / url.removeprefix(RUNBOOK_BASE)).is_file(), f"runbook missing for {rule['alert']}"


def test_every_runbook_belongs_to_an_alert():
    pages = {p.stem for p in RUNBOOKS.glob("*.md")} - {"README"}
    assert pages == set(ALERT_NAMES)


def test_every_alert_is_unit_tested_firing_and_not_firing():
    fired, quiet = set(), set()
    for path in TEST_FILES:
        for test in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]:
            for case in test.get("alert_rule_test", []):
                (fired if case.get("exp_alerts") else quiet).add(case["alertname"])
    assert set(ALERT_NAMES) - fired == set(), "alerts never tested firing"
    assert set(ALERT_NAMES) - quiet == set(), "alerts never tested not firing"


def test_inhibit_rules_name_existing_alerts():
    config = yaml.safe_load(AM_CONFIG.read_text(encoding="utf-8"))
    names = set(ALERT_NAMES)
    for rule in config["inhibit_rules"]:
        for matcher in rule.get("source_matchers", []) + rule.get("target_matchers", []):
            m = re.fullmatch(r'alertname(=|!=|=~|!~)"(.*)"', matcher)
            if m:
                assert set(m.group(2).split("|")) <= names, matcher
    # The prober inhibition needs a location on the prober alerts and must never match alerts without one.
    location_rules = [r for r in config["inhibit_rules"] if r.get("equal") == ["location"]]
    assert location_rules and all('location=~".+"' in r["source_matchers"] and 'location=~".+"' in r["target_matchers"]
                                  for r in location_rules)


def test_no_secrets_in_alertmanager_config():
    text = AM_CONFIG.read_text(encoding="utf-8")
    config = yaml.safe_load(text)
    assert "smtp_auth_password" not in config["global"]
    for receiver in config["receivers"]:
        for telegram in receiver.get("telegram_configs", []):
            assert telegram["bot_token"] == "__TELEGRAM_BOT_TOKEN__"
        for email in receiver.get("email_configs", []):
            assert "auth_password" not in email


# --- one source of truth: `monitor alerts build` ------------------------------------------------------


def _monitor(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    import os
    import sys

    clean = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    return subprocess.run([sys.executable, "-m", "monitor.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**clean, **(env or {})})


def test_committed_rules_are_what_alerts_build_writes_from_the_shipped_checks():
    done = _monitor("alerts", "build", "--check")
    assert done.returncode == 0, done.stdout + done.stderr


def test_alerts_build_takes_thresholds_from_slow_after_and_the_runbook_base_from_settings(tmp_path):
    import shutil

    rules = tmp_path / "rules"
    shutil.copytree(ALERTS / "rules", rules)
    checks = tmp_path / "checks.yml"
    checks.write_text((ROOT / "checks" / "dcs.yml").read_text(encoding="utf-8").replace(
        "  - id: gqthc\n", "  - id: gqthc\n    slow_after: 4s\n", 1), encoding="utf-8")
    base = "https://git.example.vn/dcs/monitor/-/blob/main/"
    env = {"MONITOR_RUNBOOK_BASE_URL": base}
    assert _monitor("alerts", "build", "--check", "--dir", str(rules), "--checks", str(checks), env=env).returncode == 1
    done = _monitor("alerts", "build", "--dir", str(rules), "--checks", str(checks), env=env)
    assert done.returncode == 0 and "wrote" in done.stdout, done.stdout + done.stderr
    assert _monitor("alerts", "build", "--check", "--dir", str(rules), "--checks", str(checks), env=env).returncode == 0
    files = sorted(rules.glob("*.yml"))
    run(tool("promtool"), "check", "rules", *map(str, files))
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert "ORG" not in text, path.name
        for group in yaml.safe_load(text)["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    assert rule["annotations"]["runbook_url"] == f"{base}docs/runbooks/{rule['alert']}.md"
    test = tmp_path / "threshold.yml"
    test.write_text(yaml.safe_dump({
        "rule_files": [str(p) for p in files], "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": [], "promql_expr_test": [{
            "expr": 'platform:latency_threshold_seconds{platform=~"gqthc|pakn"}', "eval_time": "1m",
            "exp_samples": [{"labels": 'platform:latency_threshold_seconds{platform="gqthc"}', "value": 4},
                            {"labels": 'platform:latency_threshold_seconds{platform="pakn"}', "value": 2.5}]}]}],
    }), encoding="utf-8")
    assert "SUCCESS" in run(tool("promtool"), "test", "rules", str(test)).stdout
