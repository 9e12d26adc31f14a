"""The peak-week scenario, measured by the real probes against the real lab."""

from __future__ import annotations

import asyncio
import datetime as dt
import statistics
from pathlib import Path

import pytest

from monitor.config import load_catalog
from monitor.lab.behaviour import ScenarioWorld
from monitor.lab.lab import Lab
from monitor.lab.scenario import load_scenario
from monitor.lab.simulate import drive
from monitor.localtime import VIETNAM
from monitor.probes import ProbeContext
from monitor.scheduler import Job
from monitor.workcalendar import bulletin_week

pytestmark = pytest.mark.slow  # the peak-week scenario probed for real against the lab

REPO = Path(__file__).resolve().parent.parent


def test_peak_hours_measurably_raise_latency(tmp_path):
    """Sổ tay đảng viên on Monday 08:30-09:00 (peak) against the same night at 02:00-02:30."""
    start, end = bulletin_week("2026-W23")
    catalog = load_catalog([REPO / "checks"])
    world = ScenarioWorld(load_scenario("peak-week"), start, end, [p.id for p in catalog.platforms])
    monday = dt.datetime(2026, 6, 1, tzinfo=VIETNAM)

    async def measure() -> tuple[list[float], list[float]]:
        lab = Lab(catalog, world, tmp_path, epoch=start, live_clock=lambda: start)
        await lab.start()
        try:
            lab_catalog = load_catalog([tmp_path / "checks.yml"])
            home = next(c for c in lab_catalog.platform("sotaydangvien").checks if c.id == "home")
            job = Job("sotaydangvien", home.model_copy(update={"interval": 60.0}), 0.0)
            by_window: list[list[float]] = []
            for hour, minute in ((8, 30), (2, 0)):
                window = monday.replace(hour=hour, minute=minute).timestamp()
                results = []
                await drive([job], window, window + 30 * 60, start, results.append, ProbeContext(), concurrency=30)
                by_window.append([r.phases["processing"] for r in results if r.success])
            return by_window[0], by_window[1]
        finally:
            await lab.stop()

    peak, night = asyncio.run(measure())
    assert len(peak) >= 10 and len(night) >= 25  # some peak requests fail (503, timeouts): that is the point
    assert statistics.median(peak) > 3 * statistics.median(night)


def test_peak_week_has_a_certificate_about_to_expire(tmp_path):
    """dichvucong's certificate expires in 12 days: a warning for on-call, not downtime."""
    from monitor.lab.lab import certificate_days
    from monitor.runner import run_check

    start, end = bulletin_week("2026-W23")
    catalog = load_catalog([REPO / "checks"])
    world = ScenarioWorld(load_scenario("peak-week"), start, end, [p.id for p in catalog.platforms])

    async def probe_certificates():
        lab = Lab(catalog, world, tmp_path, epoch=start, live_clock=lambda: start + 3 * 86400 + 2 * 3600,
                  certificate_days=certificate_days(world.scenario, catalog))
        await lab.start()
        try:
            lab_catalog = load_catalog([tmp_path / "checks.yml"])
            checks = {p.id: next(c for c in p.checks if c.kind == "tls") for p in lab_catalog.platforms if p.checks}
            return {pid: await run_check(pid, check, ProbeContext()) for pid, check in checks.items()}
        finally:
            await lab.stop()

    results = asyncio.run(probe_certificates())
    assert all(r.success for r in results.values()), [r.error for r in results.values()]
    assert 11.9 < results["dichvucong"].details["days_to_expiry"] <= 12
    assert all(r.details["days_to_expiry"] > 300 for pid, r in results.items() if pid != "dichvucong")
