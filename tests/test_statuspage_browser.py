"""The status page as people see it: the platform lab with one platform down (connections refused), one slow and
one fine, ``monitor run`` probing it and serving ``/status``, opened in a real headless Chromium at 360 and 1280 px.

Screenshots are written to ``$MONITOR_TEST_ARTIFACTS/statuspage/`` (default ``var/test-artifacts/``). Chromium
can reach nothing but 127.0.0.1 (tests/chromium.py), and the test reads every request the page made. axe-core
(installed from npm by scripts/test) checks accessibility in the same browser.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from monitor.statuspage.render import RELOAD_AFTER
from tests.chromium import Chromium, axe_source
from tests.daemon import Daemon
from tests.e2e import Proc

pytestmark = pytest.mark.slow

NOTE = '<b>Đang khắc phục</b> <img src="https://example.com/x.png"> sự cố đường truyền & máy chủ'
ARTIFACTS = Path(os.environ.get("MONITOR_TEST_ARTIFACTS") or Path(__file__).resolve().parent.parent / "var"
                 / "test-artifacts") / "statuspage"


CHECKS = """\
platforms:
  - id: gqthc
    name: Hệ thống giải quyết thủ tục hành chính
    domains: [gqthc.dcs.vn]
    checks:
      - {id: home, kind: http, url: "https://gqthc.dcs.vn/", interval: 1s, timeout: 800ms}
  - id: sotaydangvien
    name: Sổ tay đảng viên điện tử
    domains: [sotaydangvien.dcs.vn]
    slow_after: 150ms
    checks:
      - {id: home, kind: http, url: "https://sotaydangvien.dcs.vn/", interval: 1s, timeout: 800ms}
  - id: dichvucong
    name: Cổng dịch vụ công
    domains: [dichvucong.dcs.vn]
    checks:
      - {id: home, kind: http, url: "https://dichvucong.dcs.vn/", interval: 1s, timeout: 800ms}
  - id: hdh-tacnghiep
    name: Hệ điều hành tác nghiệp
    checks: []
"""
EVERY_DAY = "[mon, tue, wed, thu, fri, sat, sun]"
# The lab's week starts when it does (speed 1): these hold from its first instant. Dịch vụ công has no event.
SCENARIO = f"""\
seed: 16
events:
  - {{id: gqthc-tu-choi, platform: gqthc, kind: outage_refused, days: {EVERY_DAY}, from: "00:00", to: "23:59"}}
  - {{id: stdv-cham, platform: sotaydangvien, kind: slow, days: {EVERY_DAY}, from: "00:00", to: "23:59",
     params: {{delay: 300ms}}}}
"""


def poll(url: str, until, timeout: float = 40.0) -> dict:
    """The JSON summary once ``until(summary)`` holds; fails after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: dict = {}
    while time.monotonic() < deadline:
        try:
            last = httpx.get(url, timeout=5).json()
        except (httpx.HTTPError, json.JSONDecodeError):
            pass
        else:
            if until(last):
                return last
        time.sleep(0.25)
    raise AssertionError(f"the summary never got there: {json.dumps(last, ensure_ascii=False)[:2000]}")


def states(summary: dict) -> dict[str, str]:
    return {p["id"]: p["state"] for p in summary.get("platforms", [])}


EXPECTED = {"gqthc": "down", "sotaydangvien": "degraded", "dichvucong": "ok", "hdh-tacnghiep": "unmonitored"}


@pytest.fixture
def daemon(tmp_path):
    """The platform lab (one platform refusing connections, one slow, one fine) and `monitor run` probing it."""
    (tmp_path / "checks.yml").write_text(CHECKS, encoding="utf-8")
    (tmp_path / "scenario.yml").write_text(SCENARIO, encoding="utf-8")
    lab = Proc("lab", [sys.executable, "-m", "monitor.cli", "lab", "--scenario", str(tmp_path / "scenario.yml"),
                       "--dir", str(tmp_path / "lab"), "--speed", "1", "--checks", str(tmp_path / "checks.yml")])
    d = None
    try:
        lab.wait_for(r"^lab ready", timeout=60)
        store = tmp_path / "monitor.db"
        env_before = dict(os.environ)
        os.environ["MONITOR_STATUS_PAGE__REFRESH"] = "1"
        try:
            d = Daemon(tmp_path / "lab" / "checks.yml", store)
        finally:
            os.environ.clear()
            os.environ.update(env_before)
        yield d, store, tmp_path / "lab" / "checks.yml"
    finally:
        if d is not None:
            d.stop()
        lab.stop()


def test_the_page_in_chromium_shows_each_state_offline_accessible_and_notes_as_text(daemon, tmp_path):
    d, store, checks_path = daemon
    base = d.metrics_url().removesuffix("/metrics")
    summary = poll(f"{base}/status/api/v1/summary", lambda s: states(s) == EXPECTED)
    (down,) = [i for i in summary["incidents"] if i["platform"] == "gqthc"]
    noted = subprocess.run([sys.executable, "-m", "monitor.cli", "incidents", "note", down["id"], NOTE,
                            "--store", str(store), "--checks", str(checks_path)],
                           capture_output=True, text=True, timeout=60)
    assert noted.returncode == 0, noted.stderr
    poll(f"{base}/status/api/v1/summary",
         lambda s: any(i["note"] == NOTE for i in s["incidents"]) and states(s) == EXPECTED)

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser = Chromium(tmp_path / "profile")
    try:
        for domain in ("Network.enable", "Runtime.enable", "Log.enable", "Page.enable"):
            browser.call(domain)
        for width in (360, 1280):
            browser.open(f"{base}/status", width)
            shown = browser.evaluate(
                "Array.from(document.querySelectorAll('section.plat')).map(s => "
                "[s.querySelector('h2').textContent, s.querySelector('.badge').textContent])")
            assert shown == [["Hệ thống giải quyết thủ tục hành chính", "Gián đoạn"],
                             ["Sổ tay đảng viên điện tử", "Chậm"],
                             ["Cổng dịch vụ công", "Hoạt động bình thường"],
                             ["Hệ điều hành tác nghiệp", "Chưa giám sát"]]
            # readable at this width: nothing wider than the viewport
            assert browser.evaluate("document.documentElement.scrollWidth") <= width
            browser.screenshot(ARTIFACTS / f"status-{width}.png")
            note = browser.evaluate("Array.from(document.querySelectorAll('.note')).map(n => "
                                    "[n.textContent, n.children.length])")
            assert note == [[NOTE, 0]]  # the markup is text: no element was made of it
            assert browser.evaluate("document.documentElement.lang") == "vi"
        browser.evaluate(axe_source() + ";1")
        violations = browser.evaluate(
            "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(v => "
            "({id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help})))", timeout=60)
        serious = [v for v in violations if v["impact"] in ("serious", "critical")]
        assert serious == [], serious
        (ARTIFACTS / "axe-violations.json").write_text(json.dumps(violations, ensure_ascii=False, indent=1))
        requests = browser.requests()
        assert requests and all(url.startswith("http://127.0.0.1:") for url in requests), requests
        # It offers to reload after a minute, not before. Its timer runs in virtual time, so no test waits 60 s;
        # last, because paused virtual time would stall axe. Virtual time starts where real time has brought the
        # page: measured from its time origin.
        hidden = "document.getElementById('reload').hidden"
        browser.call("Emulation.setVirtualTimePolicy", {"policy": "pause"})
        since_load = browser.evaluate("performance.now()") / 1000
        assert since_load < RELOAD_AFTER - 5
        assert browser.evaluate(hidden) is True
        browser.advance(RELOAD_AFTER - 1 - since_load)
        assert browser.evaluate(hidden) is True
        browser.advance(2)
        assert browser.evaluate(hidden) is False
        assert browser.evaluate("document.querySelector('#reload a').getAttribute('href')") == ""  # this page again
        assert browser.errors() == []
    finally:
        browser.close()
    assert (ARTIFACTS / "status-360.png").stat().st_size > 1000
    assert (ARTIFACTS / "status-1280.png").stat().st_size > 1000
