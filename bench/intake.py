"""How fast and small ``monitor complaints import`` is on a 50 MB CSV, and how long the scrub takes on 1 MB of
adversarial text.

The issue's budgets: at least 10,000 rows/s and at most 150 MB peak RSS on a 50 MB CSV (≈144 k rows);
the scrub of 1 MB of any text in under a second. The CSV is generated here (complaints in the styles
of the sample, a fifth of them carrying personal data, a few broken rows for the rejects file); the
real CLI runs as a subprocess into a fresh store; its peak RSS is VmHWM from ``/proc/PID/status``
(polled) and ``ru_maxrss`` from ``wait4``, whichever is larger.
"""

from __future__ import annotations

import base64
import csv
import os
import random
import subprocess
import sys
import time
from pathlib import Path

from bench.context import BenchContext
from bench.daemon import environment
from bench.model import Budget, Figure

SECTION = "intake"
TARGET_BYTES = 50 * 1024 * 1024
ROWS_BUDGET = 10_000.0  # rows/s
RSS_BUDGET = 150.0  # MB
SCRUB_BUDGET = 1.0  # seconds per MB
TIMEOUT = 900.0

_OPENINGS = ["Sổ tay đảng viên", "STĐV", "so tay dang vien", "Dịch vụ công của Đảng", "dichvucong.dcs.vn",
             "Hệ thống giải quyết TTHC", "trang quản trị GQTTHC", "hệ thống PAKN", "app sổ tay", "web dvc"]
_SYMPTOMS = ["chậm, nghẽn vào đầu giờ sáng", "không truy cập được, báo lỗi 504 Gateway Timeout", "xoay mãi không lên",
             "ko dang nhap dc, bi day ra", "báo chứng chỉ không an toàn", "lúc được lúc không", "quá tải giờ cao điểm",
             "hiển thị sai dữ liệu đảng viên", "đề nghị bổ sung tính năng tra cứu", "trắng trang, mất kết nối"]
_TAILS = ["Đề nghị kiểm tra, khắc phục.", "Cán bộ phải chờ rất lâu mới mở được trang, ảnh hưởng sinh hoạt chi bộ.",
          "Từ 8h đến 10h sáng nay tình trạng lặp lại nhiều lần.", "Hôm qua cũng bị như vậy vào đầu giờ chiều.",
          "Mong các đồng chí quan tâm giải quyết sớm để đảng viên thực hiện nhiệm vụ."]
_PERSONAL = ["Liên hệ đồng chí Nguyễn Văn An, SĐT 0912 345 678.", "họ tên: tran thi hoa, dt.0987654321",
             "email nva@example.vn, CCCD 001089012345", "Zalo (+84)912345678 / 0084987654321"]
_UNITS = ["Đảng ủy xã Thanh Trì", "Chi bộ thôn Nà Pò", "Đảng ủy phường Hải Châu", "Văn phòng Đảng ủy xã Yên Thịnh"]
_PROVINCES = ["Hà Nội", "Cao Bằng", "Đà Nẵng", "Ninh Bình", "Huế", "Cần Thơ"]


def write_csv(path: Path, target_bytes: int, seed: int = 2026) -> int:
    """A PAKN export of about ``target_bytes`` (UTF-8 with BOM, CRLF); returns its data rows."""
    rng = random.Random(seed)
    rows = 0
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f, lineterminator="\r\n")
        writer.writerow(["Mã PAKN", "Thời gian tiếp nhận", "Đơn vị gửi", "Tỉnh/Thành phố", "Nội dung",
                         "Số điện thoại", "Người gửi"])
        while f.tell() < target_bytes:
            rows += 1
            text = " ".join([rng.choice(_OPENINGS), rng.choice(_SYMPTOMS) + ".",
                             *rng.sample(_TAILS, 3), *(rng.sample(_PERSONAL, 1) if rng.random() < 0.2 else [])])
            day, minute = 1 + rows % 28, rows % 1440
            when = f"{day:02d}/05/2026 {minute // 60:02d}:{minute % 60:02d}" if rows % 997 else "31/02/2026 25:00"
            writer.writerow([f"PAKN-B-{rows:07d}", when, rng.choice(_UNITS), rng.choice(_PROVINCES), text,
                             "0912345678", "Nguyễn Văn An"])
    return rows


def _vm_hwm(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _tree_pss(pid: int) -> float:
    """Proportional set size (MB) of ``pid`` and its children: the import's memory, its workers included,
    pages the workers share with it (forked) counted once."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as f:
            pids = [pid, *map(int, f.read().split())]
    except OSError:
        return 0.0
    total = 0.0
    for one in pids:
        try:
            with open(f"/proc/{one}/smaps_rollup", encoding="ascii") as f:
                total += next((int(line.split()[1]) for line in f if line.startswith("Pss:")), 0) / 1024
        except OSError:
            continue
    return total


def run_import(export: Path, workdir: Path) -> tuple[float, float, float]:
    """``monitor complaints import EXPORT`` into a fresh store; (wall seconds, peak RSS MB of its largest
    process, peak PSS MB of the whole process tree sampled every 50 ms)."""
    env = environment(MONITOR_STORE=str(workdir / "monitor.db"), MONITOR_CHECKS=f'["{Path("checks").resolve()}"]')
    out, err = workdir / "import.out", workdir / "import.err"
    peak = tree = 0.0
    polls = 0
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        began = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-m", "monitor.cli", "complaints", "import", str(export)],
                                   cwd=Path.cwd(), env=env, stdout=stdout, stderr=stderr)
        while True:
            peak = max(peak, _vm_hwm(process.pid) or 0.0)
            polls += 1
            if polls % 10 == 0:
                tree = max(tree, _tree_pss(process.pid))
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - began > TIMEOUT:
                process.kill()
                os.wait4(process.pid, 0)
                raise RuntimeError(f"monitor complaints import did not finish in {TIMEOUT:.0f} s")
            time.sleep(0.005)
        elapsed = time.perf_counter() - began
    process.returncode = code = os.waitstatus_to_exitcode(status)
    if code:
        raise RuntimeError(f"monitor complaints import failed ({code}): {err.read_text(errors='replace')[-2000:]}")
    return elapsed, max(peak, usage.ru_maxrss / 1024), tree


def intake_only(export: Path, workdir: Path) -> float:
    """Seconds to read, scrub, check and store ``export`` in-process, with a fixed classification.

    Isolates the intake (this section's budget owner) from the classifier, which the CLI figure includes.
    """
    from monitor.complaints.importer import Export
    from monitor.domain import Classification, Complaint
    from monitor.store import open_store

    fixed = Classification(platforms=(), platform_phrases=(), symptom="other", symptom_phrase=None, peak=False)
    began = time.perf_counter()
    store = open_store(workdir / "intake-only.db")
    try:
        store.import_complaints(((c, fixed) for c in Export(export) if isinstance(c, Complaint)), "bench", 0.0)
    finally:
        store.close()
    return time.perf_counter() - began


def adversarial_texts(size: int = 1 << 20) -> dict[str, str]:
    """Texts of ``size`` characters that made the old scrub quadratic, and their relatives."""
    blob = base64.b64encode(random.Random(7).randbytes(size)).decode()[:size]
    shapes = {"lol…": "lol", "a@a@…": "a@", "1 1 1 …": "1 ", "0000…": "0", "ông A…": "ông A",
              "liên hệ anh a …": "liên hệ anh a ", "STK STK …": "STK ", "Họ tên: …": "Họ tên: ", "0912.…": "0912.",
              "aAaA…": "aA", "sample text": "Sổ tay đảng viên chậm, SĐT:0912345678, đ/c Nguyễn Văn An. "}
    texts = {name: (unit * (size // len(unit) + 1))[:size] for name, unit in shapes.items()}
    texts["base64 image"] = blob
    return texts


def scrub_times(size: int = 1 << 20) -> dict[str, float]:
    """Seconds to scrub each adversarial text of ``size`` characters."""
    from monitor.complaints.scrub import scrub

    times = {}
    for name, text in adversarial_texts(size).items():
        began = time.perf_counter()
        scrub(text)
        times[name] = time.perf_counter() - began
    return times


def run(ctx: BenchContext) -> list[Figure]:
    target = TARGET_BYTES // 20 if ctx.quick else TARGET_BYTES
    export = ctx.workdir / "pakn-50mb.csv"
    rows = write_csv(export, target)
    ctx.say(f"generated {export.stat().st_size / 1e6:.1f} MB, {rows:,} rows")
    elapsed, peak, tree = run_import(export, ctx.workdir)
    rate = rows / elapsed
    ctx.say(f"monitor complaints import: {elapsed:.1f} s, {rate:,.0f} rows/s, peak RSS {peak:.0f} MB "
            f"(largest process), {tree:.0f} MB PSS with its classification workers")
    alone = intake_only(export, ctx.workdir)
    ctx.say(f"read + scrub + store without classification, in-process: {alone:.1f} s, {rows / alone:,.0f} rows/s")
    times = scrub_times(1 << 16 if ctx.quick else 1 << 20)
    worst = max(times, key=times.get)
    ctx.say("scrub of 1 MB: " + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in times.items()))
    size = f"{export.stat().st_size / 1e6:.0f} MB, {rows:,} rows"
    return [
        Figure(SECTION, f"complaints import rate ({size})", "rows/s", round(rate), budget=Budget(">=", ROWS_BUDGET),
               note=f"{elapsed:.1f} s wall, real CLI in a subprocess, fresh store"),
        Figure(SECTION, f"complaints import peak RSS ({size})", "MB", round(peak, 1), budget=Budget("<=", RSS_BUDGET),
               note="VmHWM / ru_maxrss of the child (the largest of its processes)"),
        Figure(SECTION, f"complaints import memory with its workers ({size})", "MB", round(tree, 1),
               budget=Budget("<=", RSS_BUDGET), note="peak of the process tree's PSS, sampled every 50 ms"),
        Figure(SECTION, "complaints intake rate without classification", "rows/s", round(rows / alone),
               budget=Budget(">=", ROWS_BUDGET), note="read, scrub, check, store; in-process, fixed classification"),
        Figure(SECTION, "scrub of 1 MB adversarial text, worst shape", "s", round(times[worst], 3),
               budget=Budget("<=", SCRUB_BUDGET), note=f"worst: {worst}; {len(times)} shapes"),
    ]
