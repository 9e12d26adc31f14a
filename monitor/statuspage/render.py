"""The status page as one self-contained HTML document in Vietnamese: no external fonts, scripts or images.

Server-rendered; inline CSS; one small inline script (allowed by its hash in the Content-Security-Policy) that,
after a minute, offers to reload (a link; the page also works without scripts). Every value is escaped; the only
free text is the operator's note. Readable at 360 px; each platform's 90 daily bars are an SVG with a text
alternative, and a visible sentence says the same.
"""

from __future__ import annotations

import base64
import hashlib
from html import escape

from monitor.localtime import local
from monitor.reasons import REASON
from monitor.statuspage import wording as w
from monitor.statuspage.model import DayBar, IncidentView, PeakLatency, PlatformStatus, Summary

RELOAD_AFTER = 60  # seconds before the page offers to reload

SCRIPT = ("setTimeout(function(){var e=document.getElementById('reload');if(e){e.hidden=false;}},"
          f"{RELOAD_AFTER * 1000});")
SCRIPT_HASH = "sha256-" + base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
META_CSP = (f"default-src 'none'; style-src 'unsafe-inline'; script-src '{SCRIPT_HASH}'; img-src data:; "
            "base-uri 'none'; form-action 'none'")  # also in the files `monitor status-page --out` writes
CSP = META_CSP + "; frame-ancestors 'none'"  # the header's (frame-ancestors is ignored in a <meta>)

CSS = """
*{box-sizing:border-box}
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;font-size:1rem;line-height:1.5;
color:#1f2328;background:#fff}
main{max-width:60rem;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.5rem 0}
h2{font-size:1.2rem;margin:0 0 .25rem}
h3{font-size:1rem;margin:0 0 .25rem}
a{color:#0a58ca}
.lead{margin:.25rem 0 1rem}
.plat{border:1px solid #d0d7de;border-left-width:.5rem;border-radius:.375rem;padding:.75rem;margin:0 0 1rem}
.s-ok{border-left-color:#1a7f37}.s-degraded{border-left-color:#9a6700}.s-down{border-left-color:#cf222e}
.s-no_data,.s-unmonitored{border-left-color:#6e7781}
.badge{display:inline-block;font-weight:700;padding:0 .5rem;border-radius:.25rem;margin:0 0 .25rem}
.b-ok{background:#dafbe1;color:#0a3622}.b-degraded{background:#fff8c5;color:#4d2d00}
.b-down{background:#ffebe9;color:#82071e}.b-no_data,.b-unmonitored{background:#eaeef2;color:#24292f}
p{margin:.25rem 0}
.bars{display:block;width:100%;height:2.5rem;margin:.5rem 0 0}
.bars rect{width:8px;height:40px}
.bars .a{fill:#1a7f37}.bars .b{fill:#9a6700}.bars .c{fill:#cf222e}.bars .n{fill:#eaeef2;stroke:#6e7781;stroke-width:1}
.axis{display:flex;justify-content:space-between;font-size:.875rem;color:#57606a}
.legend{font-size:.875rem;color:#57606a}
.legend span{white-space:nowrap;margin-right:.75rem}
.sw{display:inline-block;width:.75rem;height:.75rem;margin-right:.25rem;vertical-align:-.1rem}
.inc{border-top:1px solid #d0d7de;padding:.75rem 0}
dl{margin:0;display:grid;grid-template-columns:max-content 1fr;gap:0 .75rem}
dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}
.note{white-space:pre-wrap}
#reload{background:#ddf4ff;border:1px solid #54aeff;border-radius:.375rem;padding:.5rem;margin:0 0 1rem}
footer{font-size:.875rem;color:#57606a;margin-top:2rem}
@media (max-width:30rem){dl{grid-template-columns:1fr}dd{margin-bottom:.25rem}}
"""


def _bar_class(bar: DayBar) -> str:
    share = bar.availability
    if share is None:
        return "n"
    return "a" if share >= 0.995 else "b" if share >= 0.95 else "c"


def _bar_title(bar: DayBar) -> str:
    share = bar.availability
    when = local(bar.day_start).strftime("%d/%m/%Y")
    return f"{when}: không có số liệu đo" if share is None else f"{when}: {w.percent(share)}"  # short: 90 a platform


def bars_sentence(days: tuple[DayBar, ...]) -> str:
    """What the bars show, in words: days with data, the lowest day, days without data."""
    measured = [d for d in days if d.availability is not None]
    if not measured:
        return f"{len(days)} ngày qua: không có số liệu đo."
    worst = min(measured, key=lambda d: (d.availability or 0.0, -d.day_start))
    total_ok, total = sum(d.ok for d in measured), sum(d.probes for d in measured)
    parts = [f"{len(days)} ngày qua: có số liệu {len(measured)} ngày, {w.percent(total_ok / total)} lượt đo thành công"]
    if worst.availability is not None and worst.availability < 1:
        parts.append(f"thấp nhất {w.percent(worst.availability)} ngày {w.date(worst.day_start)}")
    missing = len(days) - len(measured)
    if missing:
        parts.append(f"{missing} ngày không có số liệu đo")
    return "; ".join(parts) + "."


def _bars(p: PlatformStatus) -> str:
    """One SVG: a path per colour (a few bytes a day), and a hover title on each day below 99,5 %, grouped by
    colour (about 50 bytes a day); the text alternative is the sentence, also shown under the bars."""
    n = len(p.days)
    sentence = bars_sentence(p.days)
    paths: dict[str, list[str]] = {"a": [], "n": []}  # good days and days without data: drawn, not titled
    titled: dict[str, list[str]] = {"b": [], "c": []}
    for k, day in enumerate(p.days):
        kind = _bar_class(day)
        if kind in paths:
            paths[kind].append(f"M{k * 10} 0h8v40h-8z")
        else:
            titled[kind].append(f'<rect x="{k * 10}"><title>{escape(_bar_title(day))}</title></rect>')
    drawn = "".join(f'<path class="{kind}" d="{"".join(d)}"/>' for kind, d in paths.items() if d)
    drawn += "".join(f'<g class="{kind}">{"".join(r)}</g>' for kind, r in titled.items() if r)
    return (f'<svg class="bars" viewBox="0 0 {n * 10 - 2} 40" preserveAspectRatio="none" role="img" '
            f'aria-label="{escape(sentence)}" focusable="false">{drawn}</svg>'
            f'<div class="axis" aria-hidden="true"><span>{n} ngày trước</span><span>Hôm nay</span></div>'
            f"<p>{escape(sentence)}</p>")


def _peak(peak: PeakLatency) -> str:
    if peak.status == "no_peak_today":
        return "Hôm nay không phải ngày làm việc: không có giờ cao điểm."
    if peak.status == "not_yet":
        return "Hôm nay chưa đến giờ cao điểm."
    if peak.status == "no_data" or peak.p50 is None or peak.p95 is None:
        return "Giờ cao điểm hôm nay: không có số liệu đo."
    return (f"Thời gian phản hồi giờ cao điểm hôm nay: trung vị {w.seconds(peak.p50)}, 95 % lượt đo không quá "
            f"{w.seconds(peak.p95)} ({w.count(peak.probes)} lượt đo).")


def _since(p: PlatformStatus, summary: Summary) -> str:
    now = summary.generated_at
    if p.state in ("down", "degraded") and p.since is not None:
        return f"Từ {w.moment(p.since)} ({w.duration(now - p.since)})."
    if p.state == "ok":
        if p.since is None:
            return f"Không có sự cố toàn hệ thống trong {summary.incident_days} ngày qua."
        return f"Không có sự cố từ {w.moment(p.since)}."
    if p.state == "no_data":
        return ("Chưa có kết quả đo nào." if p.latest is None
                else f"Kết quả đo mới nhất lúc {w.moment(p.latest)}; trạng thái hiện tại chưa rõ.")
    return "Nền tảng chưa có địa chỉ để đo."


def _locations(p: PlatformStatus) -> str:
    if len(p.locations) < 2 and p.state != "ok":
        return ""
    unlike = [s for s in p.locations if s.state != p.state and s.state != "ok"]
    if p.state == "ok" and unlike:
        where = w.only_in([(w.STATE_AT[s.state], s.name or s.location) for s in unlike])
        return f"<p><strong>{escape(where[0].upper() + where[1:])}</strong>; các điểm đo khác bình thường.</p>"
    if len(p.locations) >= 2:
        where = ", ".join(f"{s.name or s.location}: {w.STATE_AT[s.state]}" for s in p.locations)
        return f"<p>Theo điểm đo: {escape(where)}.</p>"
    return ""


def _platform(p: PlatformStatus, summary: Summary) -> str:
    head = f'<h2 id="p-{escape(p.id)}">{escape(w.nfc(p.name))}</h2>'
    badge = f'<p class="badge b-{p.state}">{escape(w.STATE[p.state])}</p>'
    body = f"<p>{escape(_since(p, summary))}</p>"
    if p.state != "unmonitored":
        body += _locations(p) + f"<p>{escape(_peak(p.peak))}</p>" + _bars(p)
    return f'<section class="plat s-{p.state}" aria-labelledby="p-{escape(p.id)}">{head}{badge}{body}</section>'


def _incident(view: IncidentView, now: float) -> str:
    i = view.incident
    where = w.where(i, view.places)
    rows = [("Bắt đầu", w.moment(i.start)), ("Kết thúc", w.incident_end(i, now)),
            ("Thời lượng", w.duration(i.duration(now)))]
    reasons = w.public_reasons(i.reasons)
    if reasons:
        rows.append(("Hiện tượng đo được", ", ".join(f"{REASON[k]} ({w.count(v)} lượt đo)"
                                                     for k, v in reasons.items())))
    cells = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in rows)
    if view.note:
        cells += f'<dt>Ghi chú của cán bộ vận hành</dt><dd class="note">{escape(w.nfc(view.note))}</dd>'
    title = f"{w.nfc(view.platform_name)}: {w.KIND[i.kind].lower()} ({where})"
    return f'<article class="inc"><h3>{escape(title)}</h3><dl>{cells}</dl></article>'


def render_html(summary: Summary) -> bytes:
    now = summary.generated_at
    platforms = "".join(_platform(p, summary) for p in summary.platforms)
    if summary.incidents:
        incidents = "".join(_incident(v, now) for v in summary.incidents)
    else:
        incidents = f"<p>Không ghi nhận sự cố nào trong {summary.incident_days} ngày qua.</p>"
    legend = ('<p class="legend"><span><span class="sw" style="background:#1a7f37"></span>từ 99,5 %</span>'
              '<span><span class="sw" style="background:#9a6700"></span>95 % – dưới 99,5 %</span>'
              '<span><span class="sw" style="background:#cf222e"></span>dưới 95 %</span>'
              '<span><span class="sw" style="background:#eaeef2;border:1px solid #6e7781"></span>'
              "không có số liệu đo</span></p>")
    page = f"""<!DOCTYPE html>
<html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{escape(META_CSP)}">
<link rel="icon" href="data:,">
<title>Trạng thái các nền tảng số dùng chung</title>
<style>{CSS}</style></head>
<body><main>
<h1>Trạng thái các nền tảng số dùng chung</h1>
<p class="lead">Cập nhật lúc {w.moment(now)} (giờ Việt Nam). Nếu nền tảng hoạt động bình thường mà đồng chí vẫn
không truy cập được, xin kiểm tra đường truyền, thiết bị tại cơ sở.</p>
<p id="reload" role="status" hidden>Đã hơn một phút kể từ khi tải trang. <a href="">Tải lại để xem số liệu mới</a></p>
{platforms}
<h2>Sự cố đang diễn ra và trong {summary.incident_days} ngày qua</h2>
{incidents}
<h2>Cách đọc</h2>
<p>Mỗi cột là một ngày ({summary.days} ngày gần nhất): tỷ lệ lượt đo tự động thành công trong ngày.</p>
{legend}
<footer><p>Số liệu do hệ thống giám sát tự động đo; giờ cao điểm tính theo ngày làm việc.
<a href="api/v1/summary">Dữ liệu dạng JSON</a>.</p></footer>
</main><script>{SCRIPT}</script></body></html>
"""
    return w.nfc(page).encode("utf-8")
