"""Grafana sync through grafana-client, against a real HTTP stand-in on loopback (tests/grafana_standin.py).

Real objects throughout: Incident, Complaint, Classification, Match and Evidence dataclasses, the
shipped catalog, a real SQLite store for the command. A live test runs when GRAFANA_URL and
GRAFANA_TOKEN name a real Grafana.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import socket
from pathlib import Path

import pytest

from monitor.config import load_catalog
from monitor.config.grafana import GrafanaSettings
from monitor.domain import Classification, Complaint, Evidence, Incident, Match, MatchStatus
from monitor.errors import GrafanaError, GrafanaSettingsError
from monitor.grafana import dashboards
from monitor.grafana.cli import add_parser
from monitor.grafana.client import connect
from monitor.grafana.sync import AnnotateCounts, annotate, push_dashboards
from monitor.localtime import VIETNAM
from monitor.store import open_store
from tests.grafana_standin import GrafanaStandIn

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "glsa_standin_0123456789abcdef"
CATALOG = load_catalog([ROOT / "checks"])
START = dt.datetime(2026, 6, 2, 14, 0, tzinfo=VIETNAM).timestamp()
NOW = START + 6 * 3600
PHONE, NAME, UNIT = "0912 345 678", "Nguyễn Văn An", "Chi bộ thôn Nà Lũng"

DOWN = Incident(id="dichvucong-20260602T140000", platform="dichvucong", kind="down", scope="platform",
                start=START, end=START + 45 * 60, locations=("hanoi",), reasons={"connect_refused": 90},
                probes=100, failed=90)
SLOW = Incident(id="sotaydangvien-20260602T180000", platform="sotaydangvien", kind="degraded", scope="platform",
                start=START + 4 * 3600, end=None, locations=("caobang", "hanoi"),
                reasons={"slow": 30, "read_timeout": 4},
                worst_latency=9.5, probes=80, failed=4, last_bad=NOW, data_until=NOW, interval=60.0)
COMPLAINT = Complaint(id="PAKN-2026-0042", received_at=START + 1800, unit=UNIT, province="Cao Bằng",
                      text=f"Đồng chí {NAME} (ĐT {PHONE}) phản ánh dịch vụ công không truy cập được")
CLASSIFIED = Classification(platforms=("dichvucong",), platform_phrases=("dịch vụ công",), symptom="unavailable",
                            symptom_phrase="không truy cập được", peak=True)
MATCH = Match(COMPLAINT.id, "dichvucong", MatchStatus.CORROBORATED, DOWN.id)


def evidence(*incidents: Incident) -> Evidence:
    return Evidence(start=START - 86400, end=START + 86400, results=[], incidents=list(incidents or (DOWN, SLOW)),
                    certificate_warnings=[], complaints=[(COMPLAINT, CLASSIFIED)], matches=[MATCH], now=NOW)


@pytest.fixture
def grafana():
    with GrafanaStandIn(TOKEN) as standin:
        yield standin


@pytest.fixture
def client(grafana):
    return connect(GrafanaSettings(url=grafana.url, token=TOKEN))


def sent(grafana: GrafanaStandIn) -> str:
    """Everything that reached Grafana: paths, queries and bodies."""
    return "\n".join(f"{r.method} {r.path} {r.query} " + r.body.decode("utf-8") for r in grafana.state.requests)


def annotation_posts(grafana: GrafanaStandIn) -> list[dict]:
    return [r.json() for r in grafana.requests("POST", "/api/annotations")]


# --- dashboards ---------------------------------------------------------------------------------

def test_push_creates_the_folder_once_and_saves_dashboards_with_overwrite_and_message(grafana, client):
    built = dashboards.build()
    first = push_dashboards(client, built, message="v1 từ mã nguồn")
    second = push_dashboards(client, built, message="v2")
    assert (first.folder_created, second.folder_created) == (True, False)
    assert first.folder_uid == second.folder_uid == "nen-tang-so-dang"
    folders = grafana.requests("POST", "/api/folders")
    assert [r.json() for r in folders] == [{"title": "Nền tảng số của Đảng", "uid": "nen-tang-so-dang"}]
    posts = [r.json() for r in grafana.requests("POST", "/api/dashboards/db")]
    assert [p["dashboard"]["uid"] for p in posts] == sorted(built) * 2
    assert all(p["overwrite"] is True and p["folderUid"] == "nen-tang-so-dang" for p in posts)
    assert sorted(built) == ["platform-detail", "platform-overview", "prober-health"]
    assert [p["message"] for p in posts] == ["v1 từ mã nguồn"] * 3 + ["v2"] * 3
    assert posts[0]["dashboard"]["panels"] == built[posts[0]["dashboard"]["uid"]]["panels"]
    assert grafana.state.dashboards["platform-detail"]["version"] == 2
    assert all(r.headers["Authorization"] == f"Bearer {TOKEN}" for r in grafana.state.requests)


def test_push_uses_an_existing_folder_found_by_title(grafana, client):
    grafana.state.folders.append({"id": 7, "uid": "abc123", "title": "Nền tảng số của Đảng"})
    pushed = push_dashboards(client, dashboards.build())
    assert pushed.folder_uid == "abc123" and not pushed.folder_created
    assert grafana.requests("POST", "/api/folders") == []


# --- annotations --------------------------------------------------------------------------------

def test_incidents_are_regions_and_complaints_points_with_tags_and_vietnamese_text(grafana, client):
    counts = annotate(client, evidence(), CATALOG, now=NOW)
    assert counts == AnnotateCounts(created=3, updated=0, unchanged=0)
    down, slow, complaint = annotation_posts(grafana)
    assert (down["time"], down["timeEnd"]) == (int(START * 1000), int((START + 2700) * 1000))
    assert down["tags"] == ["incident", "dichvucong", "down", "incident-id:dichvucong-20260602T140000"]
    assert down["text"] == ("Sự cố gián đoạn — Dịch vụ công trực tuyến của Đảng; điểm đo: Hà Nội; "
                            "nguyên nhân: máy chủ từ chối kết nối (90 lần đo)")
    assert slow["timeEnd"] == int(NOW * 1000)  # still open: up to now
    assert slow["tags"] == ["incident", "sotaydangvien", "degraded", "incident-id:sotaydangvien-20260602T180000"]
    assert slow["text"].startswith("Sự cố chậm, nghẽn — Sổ tay đảng viên điện tử; điểm đo: Cao Bằng, Hà Nội; "
                                   "nguyên nhân: phản hồi chậm (30 lần đo), quá thời gian chờ phản hồi (4 lần đo)")
    assert slow["text"].endswith("; đang diễn ra")
    assert complaint["time"] == int(COMPLAINT.received_at * 1000) and complaint["timeEnd"] in (None, complaint["time"])
    assert complaint["tags"] == ["complaint", "dichvucong", "unavailable", "corroborated",
                                 "complaint-id:PAKN-2026-0042"]
    assert complaint["text"] == ("Phản ánh PAKN-2026-0042 (Cao Bằng); biểu hiện: không truy cập được; giờ cao điểm; "
                                 "Dịch vụ công trực tuyến của Đảng: trùng với sự cố đo được")


def test_a_location_only_incident_names_its_provinces(grafana, client):
    local = dataclasses.replace(DOWN, id="dichvucong-20260602T150000", scope="location", locations=("caobang", "dc-1"))
    annotate(client, dataclasses.replace(evidence(local), complaints=[], matches=[]), CATALOG, now=NOW,
             location_names={"dc-1": "Trung tâm dữ liệu 1"})
    (posted,) = annotation_posts(grafana)
    assert posted["text"].startswith("Sự cố gián đoạn — Dịch vụ công trực tuyến của Đảng (chỉ ghi nhận tại Cao Bằng "
                                     "và Trung tâm dữ liệu 1); điểm đo: Cao Bằng, Trung tâm dữ liệu 1; ")


def test_no_complaint_text_unit_or_personal_data_reaches_grafana(grafana, client):
    annotate(client, evidence(), CATALOG, now=NOW)
    everything = sent(grafana)
    for secret in (PHONE, NAME, UNIT, COMPLAINT.text, "0912", "Nà Lũng"):
        assert secret not in everything
        assert json.dumps(secret)[1:-1] not in everything  # nor \\u-escaped


def test_annotate_twice_creates_nothing_new_and_a_changed_end_is_one_update(grafana, client):
    annotate(client, evidence(), CATALOG, now=NOW)
    assert annotate(client, evidence(), CATALOG, now=NOW) == AnnotateCounts(created=0, updated=0, unchanged=3)
    assert len(annotation_posts(grafana)) == 3 and len(grafana.state.annotations) == 3
    lookups = grafana.requests("GET", "/api/annotations")
    assert {r.query["tags"][0] for r in lookups} == {"incident-id:dichvucong-20260602T140000",
                                                     "incident-id:sotaydangvien-20260602T180000",
                                                     "complaint-id:PAKN-2026-0042"}
    assert all(r.query["type"] == ["annotation"] for r in lookups)

    longer = dataclasses.replace(DOWN, end=DOWN.end + 600)
    assert annotate(client, evidence(longer, SLOW), CATALOG, now=NOW) == AnnotateCounts(0, 1, 2)
    (put,) = [r for r in grafana.state.requests if r.method == "PUT"]
    stored = next(a for a in grafana.state.annotations.values() if "incident-id:" + DOWN.id in a["tags"])
    assert put.path == f"/api/annotations/{stored['id']}" and put.json()["timeEnd"] == int(longer.end * 1000)
    assert stored["timeEnd"] == int(longer.end * 1000) and len(grafana.state.annotations) == 3


def test_an_open_incident_whose_data_stopped_says_so_and_ends_at_its_last_bad_probe(grafana, client):
    stale = dataclasses.replace(SLOW, last_bad=NOW - 3600, data_until=NOW - 3600)
    annotate(client, evidence(DOWN, stale), CATALOG, now=NOW)
    slow = next(a for a in grafana.state.annotations.values() if "incident-id:" + SLOW.id in a["tags"])
    assert slow["timeEnd"] == int((NOW - 3600 + 60) * 1000)
    assert "đang diễn ra" not in slow["text"]
    assert slow["text"].endswith("; chưa rõ thời điểm kết thúc; số liệu đến 02/06/2026 19:00")


def test_an_open_incident_moves_its_end_with_now_and_closes_once(grafana, client):
    annotate(client, evidence(DOWN, SLOW), CATALOG, now=NOW)
    assert annotate(client, evidence(DOWN, SLOW), CATALOG, now=NOW + 60) == AnnotateCounts(0, 1, 2)
    closed = dataclasses.replace(SLOW, end=NOW + 30)
    assert annotate(client, evidence(DOWN, closed), CATALOG, now=NOW + 120) == AnnotateCounts(0, 1, 2)
    assert annotate(client, evidence(DOWN, closed), CATALOG, now=NOW + 999) == AnnotateCounts(0, 0, 3)
    stored = next(a for a in grafana.state.annotations.values() if "incident-id:" + SLOW.id in a["tags"])
    assert "đang diễn ra" not in stored["text"] and stored["timeEnd"] == int((NOW + 30) * 1000)


# --- errors and settings ------------------------------------------------------------------------

def test_a_rejected_token_is_a_clear_error_without_the_token(grafana):
    wrong = connect(GrafanaSettings(url=grafana.url, token="glsa_wrong_token_value"))
    for action in (lambda: push_dashboards(wrong, dashboards.build()),
                   lambda: annotate(wrong, evidence(), CATALOG, now=NOW)):
        with pytest.raises(GrafanaError, match="401 Unauthorized: the token is invalid or expired") as info:
            action()
        assert "glsa_wrong_token_value" not in str(info.value)
    assert grafana.state.annotations == {} and grafana.state.folders == []


def test_an_unreachable_grafana_is_a_clear_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before the request: connection refused
    unreachable = connect(GrafanaSettings(url=f"http://127.0.0.1:{port}", token=TOKEN), timeout=2)
    with pytest.raises(GrafanaError, match="listing folders: cannot reach Grafana"):
        push_dashboards(unreachable, dashboards.build())


def test_settings_from_the_environment_keep_the_token_secret(tmp_path):
    settings = GrafanaSettings.from_env({"GRAFANA_URL": "https://grafana.example.vn/", "GRAFANA_TOKEN": TOKEN})
    assert settings.url == "https://grafana.example.vn" and settings.folder == "Nền tảng số của Đảng"
    assert TOKEN not in repr(settings) and TOKEN not in str(settings.model_dump())
    assert settings.secret().get_secret_value() == TOKEN
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n", encoding="utf-8")
    from_file = GrafanaSettings.from_env({"GRAFANA_URL": "http://127.0.0.1:3000", "GRAFANA_TOKEN_FILE": str(token_file),
                                          "GRAFANA_FOLDER": "Thử"})
    assert from_file.secret().get_secret_value() == TOKEN and from_file.folder == "Thử"
    with pytest.raises(GrafanaSettingsError, match="GRAFANA_URL is not set"):
        GrafanaSettings.from_env({})
    with pytest.raises(GrafanaSettingsError, match="no Grafana token"):
        GrafanaSettings.from_env({"GRAFANA_URL": "http://127.0.0.1:3000"}).secret()
    with pytest.raises(GrafanaSettingsError, match="not both"):
        GrafanaSettings(url="http://127.0.0.1:3000", token=TOKEN, token_file=token_file).secret()


def test_a_url_with_a_path_prefix_reaches_the_api_under_it():
    api = connect(GrafanaSettings(url="https://example.vn/grafana/", token=TOKEN))
    assert api.client.url == "https://example.vn/grafana/api"


# --- the command --------------------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--checks", type=Path, action="append")
    root = argparse.ArgumentParser(prog="monitor")
    add_parser(root.add_subparsers(dest="command", required=True), common)
    return root


def test_command_annotate_reads_the_store_and_is_idempotent(grafana, tmp_path, monkeypatch, capsys):
    store_path = tmp_path / "monitor.db"
    store = open_store(store_path)
    try:
        store.add_complaints([(COMPLAINT, CLASSIFIED)], source="pakn.csv", now=NOW)
    finally:
        store.close()
    monkeypatch.setenv("GRAFANA_URL", grafana.url)
    monkeypatch.setenv("GRAFANA_TOKEN", TOKEN)
    monkeypatch.delenv("GRAFANA_TOKEN_FILE", raising=False)
    argv = ["grafana", "annotate", "--checks", str(ROOT / "checks"), "--store", str(store_path),
            "--from", "02/06/2026", "--to", "02/06/2026", "--json"]
    args = _parser().parse_args(argv)
    assert args.func(args) == 0
    first = json.loads(capsys.readouterr().out)
    assert first == {"period": "20260602-20260602", "incidents": 0, "complaints": 1,
                     "created": 1, "updated": 0, "unchanged": 0}
    (posted,) = annotation_posts(grafana)
    assert "no_data" in posted["tags"] and "không có số liệu đo" in posted["text"]  # no results were stored
    assert PHONE not in sent(grafana) and UNIT not in sent(grafana)
    args = _parser().parse_args(argv)
    assert args.func(args) == 0
    assert json.loads(capsys.readouterr().out)["unchanged"] == 1 and len(annotation_posts(grafana)) == 1

    monkeypatch.setenv("GRAFANA_TOKEN", "glsa_wrong_token_value")
    args = _parser().parse_args(["grafana", "push"])
    assert args.func(args) == 1
    message = capsys.readouterr().err
    assert "401 Unauthorized" in message and "glsa_wrong_token_value" not in message
    monkeypatch.delenv("GRAFANA_URL")
    assert args.func(args) == 2
    assert "GRAFANA_URL is not set" in capsys.readouterr().err


def test_command_push_saves_every_dashboard_with_the_prober_health_one(grafana, monkeypatch, capsys):
    monkeypatch.setenv("GRAFANA_URL", grafana.url)
    monkeypatch.setenv("GRAFANA_TOKEN", TOKEN)
    monkeypatch.delenv("GRAFANA_TOKEN_FILE", raising=False)
    args = _parser().parse_args(["grafana", "push"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "3 dashboards pushed" in out and "prober-health" in out
    posts = [r.json()["dashboard"] for r in grafana.requests("POST", "/api/dashboards/db")]
    assert sorted(d["uid"] for d in posts) == ["platform-detail", "platform-overview", "prober-health"]
    stored = grafana.state.dashboards["prober-health"]
    assert stored["dashboard"]["title"] == "Nền tảng số của Đảng — Sức khỏe bộ đo"
    assert stored["dashboard"]["panels"] == dashboards.build()["prober-health"]["panels"]


def test_annotate_only_reads_the_store_even_while_another_process_writes_it(grafana, tmp_path, monkeypatch, capsys):
    import sqlite3

    store_path = tmp_path / "monitor.db"
    store = open_store(store_path)
    try:
        store.add_complaints([(COMPLAINT, CLASSIFIED)], source="pakn.csv", now=NOW)
    finally:
        store.close()
    monkeypatch.setenv("GRAFANA_URL", grafana.url)
    monkeypatch.setenv("GRAFANA_TOKEN", TOKEN)
    monkeypatch.delenv("GRAFANA_TOKEN_FILE", raising=False)
    writer = sqlite3.connect(store_path, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # the daemon's writer, mid-batch
        args = _parser().parse_args(["grafana", "annotate", "--checks", str(ROOT / "checks"), "--store",
                                     str(store_path), "--from", "02/06/2026", "--to", "02/06/2026", "--json"])
        assert args.func(args) == 0
        assert json.loads(capsys.readouterr().out)["created"] == 1
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    store = open_store(store_path)
    try:
        assert store.matches_for([COMPLAINT.id]) == []  # annotating stored no verdict
    finally:
        store.close()


# --- a real Grafana -----------------------------------------------------------------------------

LIVE = bool(os.environ.get("GRAFANA_URL") and os.environ.get("GRAFANA_TOKEN"))


@pytest.mark.skipif(not LIVE, reason="GRAFANA_URL and GRAFANA_TOKEN are not set: no real Grafana to test against")
def test_live_grafana_push_and_annotate():
    settings = GrafanaSettings.from_env()
    api = connect(settings)
    assert api.health.check()["database"] == "ok"
    pushed = push_dashboards(api, dashboards.build(), folder_title="Nền tảng số của Đảng (kiểm thử)",
                             folder_uid="nen-tang-so-dang-kiem-thu", message="live test")
    assert set(pushed.dashboards) == {"platform-overview", "platform-detail", "prober-health"}
    suffix = f"{NOW:.0f}-{os.getpid()}"
    down = dataclasses.replace(DOWN, id=f"live-test-{suffix}")
    complaint = dataclasses.replace(COMPLAINT, id=f"live-test-{suffix}")
    live = Evidence(START, START + 86400, [], [down], [], [(complaint, CLASSIFIED)],
                    [dataclasses.replace(MATCH, complaint_id=complaint.id, incident_id=down.id)])
    try:
        assert annotate(api, live, CATALOG, now=NOW) == AnnotateCounts(2, 0, 0)
        assert annotate(api, live, CATALOG, now=NOW) == AnnotateCounts(0, 0, 2)
    finally:
        for key in (f"incident-id:{down.id}", f"complaint-id:{complaint.id}"):
            for found in api.annotations.find_annotations(tags=[key], ann_type="annotation") or []:
                api.annotations.delete_annotation(found["id"])
