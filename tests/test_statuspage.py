"""The status page's facts, words and serving: a real SQLite store, the real incident detection, the page over HTTP
on loopback. (Chromium: tests/test_statuspage_browser.py.)"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import re
import threading
import time
import unicodedata
from pathlib import Path

import httpx
import pytest

from monitor.config import load_catalog
from monitor.domain import IncidentPolicy
from monitor.localtime import VIETNAM
from monitor.result import ProbeResult, Reason
from monitor.statuspage import StatusPage, StatusSource, serve, status_app
from monitor.statuspage.api import summary_dict
from monitor.statuspage.app import rendering
from monitor.statuspage.render import render_html
from monitor.statuspage.state import DAY
from monitor.store import open_store
from monitor.workcalendar import PeakHours

# Wednesday 25/11/2026 10:00 in Hanoi: a working day, inside the morning peak.
NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=VIETNAM).timestamp()
STEP = 30.0

CHECKS = """\
platforms:
  - id: gqthc
    name: Hệ thống giải quyết thủ tục hành chính
    slow_after: 1s
    checks:
      - {id: home, kind: http, url: "https://gqthc.dcs.vn/", interval: 30s, timeout: 10s}
  - id: sotaydangvien
    name: Sổ tay đảng viên điện tử
    slow_after: 1s
    checks:
      - {id: home, kind: http, url: "https://sotaydangvien.dcs.vn/", interval: 30s, timeout: 10s}
  - id: dichvucong
    name: Cổng dịch vụ công
    slow_after: 1s
    checks:
      - {id: home, kind: http, url: "https://dichvucong.dcs.vn/", interval: 30s, timeout: 10s}
  - id: pakn
    name: Hệ thống tiếp nhận phản ánh, kiến nghị
    slow_after: 1s
    checks:
      - {id: home, kind: http, url: "https://pakn.dcs.vn/", interval: 30s, timeout: 10s}
  - id: hdh-tacnghiep
    name: Hệ điều hành tác nghiệp
    checks: []
"""


def result(platform: str, at: float, pattern: str, location: str = "hanoi") -> ProbeResult:
    """``.`` ok (0,2 s), ``s`` slow (3 s), ``x`` refused (with an internal address in the error text)."""
    if pattern == "x":
        return ProbeResult(platform=platform, check="home", kind="http", location=location, started_at=at,
                           success=False, duration=0.01, reason=Reason.CONNECT_REFUSED,
                           error="[Errno 111] Connect call failed ('10.20.30.40', 443) via gw.noi-bo.local",
                           peer="10.20.30.40:443")
    total = 3.0 if pattern == "s" else 0.2
    return ProbeResult(platform=platform, check="home", kind="http", location=location, started_at=at,
                       success=True, duration=total, phases={"total": total}, status_code=200, peer="10.20.30.40:443")


def run(platform: str, pattern: str, end: float = NOW, location: str = "hanoi") -> list[ProbeResult]:
    """``pattern`` one probe per 30 s, the last one just before ``end``."""
    first = end - len(pattern) * STEP
    return [result(platform, first + k * STEP, c, location) for k, c in enumerate(pattern)]


@pytest.fixture
def catalog(tmp_path: Path):
    path = tmp_path / "checks.yml"
    path.write_text(CHECKS, encoding="utf-8")
    return load_catalog([path])


@pytest.fixture
def store(tmp_path: Path):
    s = open_store(tmp_path / "monitor.db")
    yield s
    s.close()


def source(store, catalog, **kw) -> StatusSource:
    return StatusSource(store, catalog, IncidentPolicy(), PeakHours(), **kw)


def fill(store) -> None:
    """gqthc down for the last 10 probes, sotaydangvien slow, dichvucong fine, pakn measured yesterday only."""
    store.add_results(run("gqthc", "." * 200 + "x" * 10))
    store.add_results(run("sotaydangvien", "." * 200 + "s" * 10))
    store.add_results(run("dichvucong", "." * 210))
    store.add_results(run("pakn", "." * 100, end=NOW - DAY))


def states(summary) -> dict[str, str]:
    return {p.id: p.state for p in summary.platforms}


def test_each_platform_shows_its_state_from_the_incident_detection(store, catalog):
    fill(store)
    summary = source(store, catalog).summary(NOW)
    assert states(summary) == {"gqthc": "down", "sotaydangvien": "degraded", "dichvucong": "ok",
                               "pakn": "no_data", "hdh-tacnghiep": "unmonitored"}
    down = next(p for p in summary.platforms if p.id == "gqthc")
    assert down.since == NOW - 10 * STEP  # the first failed probe: where monitor incidents starts it too
    html = render_html(summary).decode()
    assert "Gián đoạn" in html and "Chậm" in html and "Hoạt động bình thường" in html and "Chưa giám sát" in html
    assert "Từ 25/11/2026 09:55" in html
    ongoing = [v.incident for v in summary.incidents if v.incident.ongoing(NOW)]
    assert sorted((i.platform, i.kind) for i in ongoing) == [("gqthc", "down"), ("sotaydangvien", "degraded")]


def test_no_data_is_never_shown_as_normal(store, catalog):
    fill(store)
    summary = source(store, catalog).summary(NOW)
    pakn = next(p for p in summary.platforms if p.id == "pakn")
    assert pakn.state == "no_data" and pakn.latest == NOW - DAY - STEP
    days = pakn.days
    assert len(days) == 90 and days[-1].probes == 0 and days[-2].probes == 100 and days[0].availability is None
    html = render_html(summary).decode()
    section = html[html.index('id="p-pakn"'):html.index('id="p-hdh-tacnghiep"')]
    assert "Chưa có số liệu đo" in section and "bình thường" not in section and "ổn định" not in section
    assert "89 ngày không có số liệu đo" in section
    assert summary_dict(summary)["platforms"][3]["days"][-1] == {"date": "2026-11-25", "probes": 0,
                                                               "availability": None}


def test_a_location_only_outage_is_named_and_the_platform_stays_up(store, catalog):
    store.add_results(run("dichvucong", "." * 200, location="hanoi"))
    store.add_results(run("dichvucong", "." * 190 + "x" * 10, location="caobang"))
    summary = source(store, catalog).summary(NOW)
    platform = next(p for p in summary.platforms if p.id == "dichvucong")
    assert platform.state == "ok"
    assert {s.location: s.state for s in platform.locations} == {"caobang": "down", "hanoi": "ok"}
    assert {s.location: s.name for s in platform.locations} == {"caobang": "Cao Bằng", "hanoi": "Hà Nội"}
    html = render_html(summary).decode()
    assert "Chỉ gián đoạn tại Cao Bằng</strong>; các điểm đo khác bình thường." in html
    assert "Cổng dịch vụ công: gián đoạn (chỉ tại Cao Bằng)" in html
    assert "caobang" not in html and "Hà Nội" not in html.split('id="p-dichvucong"')[1].split("</section>")[0]
    assert "Chỉ gián đoạn tại caobang" not in html
    assert summary_dict(summary)["incidents"][0]["scope"] == "location"
    assert summary_dict(summary)["incidents"][0]["locations"] == ["caobang"]  # the API keeps the ids
    renamed = render_html(source(store, catalog, location_names={"caobang": "Trạm Cao Bằng 2"}).summary(NOW)).decode()
    assert "Chỉ gián đoạn tại Trạm Cao Bằng 2</strong>" in renamed


def test_a_location_only_outage_of_two_provinces_names_both(store, catalog):
    store.add_results(run("dichvucong", "." * 200, location="hanoi"))
    store.add_results(run("dichvucong", "." * 200, location="haiphong"))
    store.add_results(run("dichvucong", "." * 200, location="hue"))
    store.add_results(run("dichvucong", "." * 190 + "x" * 10, location="caobang"))
    store.add_results(run("dichvucong", "." * 190 + "x" * 10, location="langson"))
    summary = source(store, catalog).summary(NOW)
    platform = next(p for p in summary.platforms if p.id == "dichvucong")
    assert platform.state == "ok"
    html = render_html(summary).decode()
    assert "<strong>Chỉ gián đoạn tại Cao Bằng và Lạng Sơn</strong>; các điểm đo khác bình thường." in html
    # detection makes one incident per location that saw it alone: each names its own province only
    assert re.findall(r"<h3>[^<]*</h3>", html) == ["<h3>Cổng dịch vụ công: gián đoạn (chỉ tại Cao Bằng)</h3>",
                                                  "<h3>Cổng dịch vụ công: gián đoạn (chỉ tại Lạng Sơn)</h3>"]


def test_nothing_but_the_closed_reason_set_and_the_note_is_published(store, catalog):
    fill(store)
    (incident,) = [i for i in source(store, catalog).summary(NOW).incidents if i.incident.platform == "gqthc"]
    store.set_incident_note(incident.incident.id, '<script>alert("x")</script> Đang khắc phục & kiểm tra', NOW)
    summary = source(store, catalog).summary(NOW)
    html = render_html(summary).decode()
    body = json.dumps(summary_dict(summary), ensure_ascii=False)
    for page in (html, body):
        assert "10.20.30.40" not in page and "Errno" not in page and "noi-bo" not in page and "dcs.vn" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; Đang khắc phục &amp; kiểm tra" in html
    assert "<script>alert" not in html
    (api,) = [i for i in summary_dict(summary)["incidents"] if i["platform"] == "gqthc"]
    assert api["note"] == '<script>alert("x")</script> Đang khắc phục & kiểm tra'
    assert api["reasons"] == {"connect_refused": 10} and api["ongoing"] is True


def test_today_peak_latency_is_measured_only_in_peak_hours(store, catalog):
    store.add_results(run("dichvucong", "." * 400))  # from 06:40: the first 100 before the peak
    summary = source(store, catalog).summary(NOW)
    fine = next(p for p in summary.platforms if p.id == "dichvucong")
    assert fine.days[-1].probes == 400
    # 07:30 to 10:00 is peak: 150 minutes, 300 probes of 30 s, all 0,2 s
    assert fine.peak.status == "measured" and fine.peak.probes == 300 and fine.peak.p95 == pytest.approx(0.2)
    assert "trung vị 0,20 giây" in render_html(summary).decode()
    sunday = dt.datetime(2026, 11, 29, 10, 0, tzinfo=VIETNAM).timestamp()
    assert source(store, catalog).summary(sunday).platforms[2].peak.status == "no_peak_today"
    early = dt.datetime(2026, 11, 25, 6, 0, tzinfo=VIETNAM).timestamp()
    assert source(store, catalog).summary(early).platforms[2].peak.status == "not_yet"


def test_the_page_fits_the_budget_with_every_day_measured(store, catalog):
    # The worst case: every one of the 90 days below 99,5 %, so every day is its own bar with a hover title.
    for platform in ("gqthc", "sotaydangvien", "dichvucong", "pakn"):
        store.add_results([result(platform, NOW - k * 3600.0, "x" if k % 24 == 0 else ".")
                           for k in range(1, 90 * 24)])
    summary = source(store, catalog).summary(NOW)
    html = render_html(summary)
    # ≤ 100 KB for 16 platforms like these (their sections repeated under other ids), not only for ours
    many = tuple(dataclasses.replace(p, id=f"{p.id}{k}") for p in summary.platforms if p.state != "unmonitored"
                 for k in range(4))
    assert len(many) == 16 and len(render_html(dataclasses.replace(summary, platforms=many))) <= 100_000
    text = html.decode()
    assert text.startswith("<!DOCTYPE html>") and '<html lang="vi">' in text
    assert unicodedata.is_normalized("NFC", text)
    assert "http://" not in text and "https://" not in text and "src=" not in text
    assert re.findall(r"<link[^>]*>", text) == ['<link rel="icon" href="data:,">']  # no favicon request either
    below = sum(d.availability is not None and d.availability < 0.995 for p in summary.platforms for d in p.days)
    assert below > 0 and text.count("<rect") == below  # a day below 99,5 % has its own bar with a hover title
    assert text.count('role="img" aria-label="90 ngày qua: có số liệu 90 ngày') == 4


@pytest.fixture
def served(store, catalog):
    fill(store)
    page = StatusPage(rendering(lambda now: source(store, catalog).summary(NOW)), refresh=3600)
    server, _ = serve(status_app(page), "127.0.0.1", 0)
    yield f"http://127.0.0.1:{server.server_port}", page
    server.shutdown()
    server.server_close()


def test_the_page_and_the_api_over_http(served):
    base, _ = served
    with httpx.Client(base_url=base) as client:
        page = client.get("/status")
        assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
        assert "default-src 'none'" in page.headers["content-security-policy"]
        assert page.headers["content-encoding"] == "gzip"
        assert "Gián đoạn" in page.text
        api = client.get("/status/api/v1/summary")
        assert api.headers["content-type"] == "application/json; charset=utf-8"
        assert api.headers["access-control-allow-origin"] == "*"
        data = api.json()
        assert [p["state"] for p in data["platforms"]] == ["down", "degraded", "ok", "no_data", "unmonitored"]
        assert data["generated_at"] == "2026-11-25T10:00:00+07:00"
        again = client.get("/status/", headers={"If-None-Match": page.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
        assert client.post("/status").status_code == 405
        assert client.get("/status/../metrics").status_code == 404
        plain = client.get("/status", headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers and plain.text == page.text


def test_requests_share_one_computation_per_refresh():
    calls: list[float] = []
    gate = threading.Event()

    def compute(now: float):
        calls.append(now)
        gate.wait(5)
        from monitor.statuspage.model import Summary
        return Summary(now, (), (), 90, 7)

    page = StatusPage(rendering(compute), refresh=3600)
    threads = [threading.Thread(target=page.current) for _ in range(20)]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join(10)
    for _ in range(100):
        assert page.current() is not None
    assert len(calls) == 1 and page.computations == 1
    page.refresh = 0.05
    time.sleep(0.1)
    page.current()  # stale: served at once, recomputed behind it
    for _ in range(100):
        if page.computations == 2:
            break
        time.sleep(0.05)
    assert len(calls) == 2


def test_a_store_that_is_away_is_one_log_line_and_the_last_copy_is_served(caplog):
    from monitor.errors import StoreError
    from monitor.statuspage.model import Summary

    away = threading.Event()

    def compute(now: float):
        if away.is_set():
            raise StoreError("cannot reach the PostgreSQL store at 10.0.0.1:5432")
        return Summary(now, (), (), 90, 7)

    def recompute(page: StatusPage, count: int) -> None:
        tried = page.computations
        for _ in range(count):
            page._tried = -float("inf")  # due now: each call asks for one computation
            page._ready.clear()
            page.current()
            assert page._ready.wait(5)
        assert page.computations >= tried

    page = StatusPage(rendering(compute), refresh=3600)
    first = page.current()
    assert first is not None
    away.set()
    with caplog.at_level(logging.INFO, logger="monitor.statuspage.app"):
        recompute(page, 5)
        assert page.current() is first  # the last good copy, while the store is away
        away.clear()
        recompute(page, 1)
    lines = [r for r in caplog.records if r.name == "monitor.statuspage.app"]
    assert [r.levelname for r in lines] == ["WARNING", "INFO"]  # one line when it went, one when it came back
    assert lines[0].exc_info is None and "10.0.0.1:5432" in lines[0].getMessage()
    assert page.computations == 2


def test_monitor_runs_page_is_computed_in_a_process_of_its_own_and_comes_back_when_it_dies(store, catalog, tmp_path):
    import os
    import signal

    from monitor.config import Settings
    from monitor.statuspage.aside import PageProcess

    fill(store)
    settings = Settings(store=tmp_path / "monitor.db")
    expected = rendering(source(store, catalog).summary)(NOW)
    computing = PageProcess(tmp_path / "monitor.db", settings, catalog)
    page = StatusPage(computing, refresh=3600, clock=lambda: NOW)
    try:
        first = page.current()
        assert first is not None and json.loads(first.json)["platforms"] == json.loads(expected.json)["platforms"]
        pid = computing.pid
        assert pid is not None and pid != os.getpid()
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(RuntimeError, match="died"):
            computing(NOW)
        page._tried = -float("inf")  # due now
        page._ready.clear()
        assert page.current() is first and page._ready.wait(30)  # the last copy meanwhile; a new process computes
        assert computing.pid not in (None, pid) and page.computations == 2
    finally:
        computing.close()
