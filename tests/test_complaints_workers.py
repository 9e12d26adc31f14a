"""Classification in worker processes changes nothing but the speed: same rows, same order, same summary."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.intake import write_csv
from monitor.complaints.intake import import_export
from monitor.config import load_catalog
from monitor.store import open_store
from monitor.workcalendar import PeakHours

CHECKS = Path(__file__).resolve().parents[1] / "checks"


def _import(export: Path, store: Path, workers: int) -> tuple[dict, list]:
    catalog = load_catalog([CHECKS])
    summary = import_export(export, lambda: open_store(store), catalog.platforms, PeakHours(), now=1_780_000_000.0,
                            workers=workers)
    opened = open_store(store)
    try:
        stored = opened.complaints_between(0, 4e9)
    finally:
        opened.close()
    return summary, stored


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one core: worker processes would only take turns")
def test_two_workers_store_what_one_process_stores(tmp_path: Path) -> None:
    export = tmp_path / "pakn.csv"
    rows = write_csv(export, 1_200_000, seed=11)  # about 3,000 rows: several chunks per worker
    alone, stored_alone = _import(export, tmp_path / "alone.db", workers=0)
    shared, stored_shared = _import(export, tmp_path / "shared.db", workers=2)

    assert alone["rows"] == rows and alone["accepted"] > 2_000
    for summary in (alone, shared):
        summary.pop("rejects_file")
    assert shared == alone
    # each complaint with its own classification: a chunk paired with another chunk's results would differ
    assert stored_shared == stored_alone
    assert len(stored_shared) == alone["accepted"]
