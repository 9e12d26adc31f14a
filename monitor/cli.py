"""The ``monitor`` command: a thin layer over the library, rich for people, ``--json`` for scripts.

Exit codes: 0 success, 1 a probe failed (``check``), 2 invalid configuration or usage.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import json
import sys
from pathlib import Path

from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from monitor import __version__, logs
from monitor.config import Catalog, HttpCheck, Settings, load_catalog
from monitor.cli_evidence import PeriodError
from monitor.errors import ConfigError, StoreError
from monitor.localtime import format_datetime
from monitor.probes import ProbeContext
from monitor.result import PHASES, ProbeResult
from monitor.runner import run_check

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2
out = Console(highlight=False)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class UsageError(Exception):
    """A target or option that names nothing; exit code 2."""


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {key: value for key, value in (
        ("checks", getattr(args, "checks", None)), ("store", getattr(args, "store", None)),
        ("location", getattr(args, "location", None)), ("listen_port", getattr(args, "listen_port", None)),
    ) if value is not None}
    return Settings(**overrides)


def _catalog(settings: Settings) -> Catalog:
    return load_catalog(settings.checks)


# --- run ------------------------------------------------------------------------------

def cmd_run(args: argparse.Namespace) -> int:
    from monitor.daemon import run_daemon

    settings = _settings(args)
    catalog = _catalog(settings)
    logs.configure(settings.log_level, err)

    def announce(address: str, jobs: list) -> None:
        out.print(f"monitor {__version__}: location [bold]{settings.location}[/], store {settings.store}")
        out.print(f"metrics at [bold]{address}[/]")
        for platform in catalog.platforms:
            checks = ", ".join(f"{c.id} ({c.kind} every {c.interval:g}s)" for c in platform.checks)
            out.print(f"  {platform.id:<16} {platform.name}: {checks or '[dim]unmonitored: no known address[/]'}")
        out.print(f"{len(jobs)} checks scheduled; Ctrl-C or SIGTERM stops cleanly")

    return asyncio.run(run_daemon(settings, catalog, announce))


# --- check ----------------------------------------------------------------------------

def _targets(catalog: Catalog, target: str, timeout: float) -> list[tuple[str, object]]:
    if "://" in target:
        check = HttpCheck.model_validate({"id": "adhoc", "kind": "http", "url": target,
                                          "timeout": timeout, "interval": timeout + 1})
        return [("adhoc", check)]
    platform_id, _, check_id = target.partition("/")
    platform = catalog.platform(platform_id)
    if platform is None:
        known = ", ".join(p.id for p in catalog.platforms)
        raise UsageError(f"no platform {platform_id!r} (known: {known}); or give a URL")
    checks = [c for c in platform.checks if not check_id or c.id == check_id]
    if not platform.checks:
        raise UsageError(f"platform {platform_id!r} ({platform.name}) has no checks: it is unmonitored")
    if not checks:
        raise UsageError(f"platform {platform_id!r} has no check {check_id!r} "
                         f"(checks: {', '.join(c.id for c in platform.checks)})")
    return [(platform.id, c) for c in checks]


def _ms(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds * 1000:.1f}"


def result_dict(result: ProbeResult) -> dict:
    """A result as JSON-ready data."""
    data = dataclasses.asdict(result)
    data["reason"] = result.reason.value if result.reason else None
    return data


def _result_table(results: list[ProbeResult]) -> Table:
    table = Table(title="Probe results (times in ms)")
    table.add_column("check")
    table.add_column("result")
    table.add_column("status", justify="right")
    for phase in PHASES:
        table.add_column(phase, justify="right")
    table.add_column("certificate expires")
    table.add_column("peer")
    for r in results:
        outcome = "[green]success[/]" if r.success else f"[red]{r.outcome}[/]"
        expiry = format_datetime(r.cert_expiry, seconds=False) if r.cert_expiry else "—"
        table.add_row(f"{r.platform}/{r.check}", outcome, str(r.status_code or "—"),
                      *(_ms(r.phases.get(p)) for p in PHASES), expiry, r.peer or "—")
    return table


def cmd_check(args: argparse.Namespace) -> int:
    settings = _settings(args)
    targets = _targets(_catalog(settings), args.target, args.timeout)
    ctx = ProbeContext(location=settings.location)

    async def run_all() -> list[ProbeResult]:
        return list(await asyncio.gather(*(run_check(p, c, ctx) for p, c in targets)))

    results = asyncio.run(run_all())
    if args.json:
        print(json.dumps([result_dict(r) for r in results], ensure_ascii=False, indent=2))
    else:
        out.print(_result_table(results))
        for r in results:
            if not r.success:
                out.print(f"[red]{r.platform}/{r.check}: {r.outcome}[/]: {r.error}")
            details = ", ".join(f"{k} {v}" for k, v in r.details.items())
            if details:
                out.print(f"[dim]{r.platform}/{r.check}: {details}[/]")
    return EXIT_OK if all(r.success for r in results) else EXIT_FAILED


# --- results --------------------------------------------------------------------------

def cmd_results(args: argparse.Namespace) -> int:
    from monitor.store import open_store

    settings = _settings(args)
    if not settings.store.exists():
        raise UsageError(f"no history at {settings.store} yet: start `monitor run` first")
    store = open_store(settings.store, read_only=True)
    try:
        results = store.recent_results(args.n, platform=args.platform, check=args.check_id)
    finally:
        store.close()
    if args.json:
        print(json.dumps([result_dict(r) for r in results], ensure_ascii=False, indent=2))
        return EXIT_OK
    table = Table(title=f"Last {len(results)} results (Asia/Ho_Chi_Minh)")
    for column in ("time", "check", "location", "result", "status", "total ms", "error"):
        table.add_column(column, justify="right" if column in ("status", "total ms") else "left")
    for r in results:
        outcome = "[green]success[/]" if r.success else f"[red]{r.outcome}[/]"
        if r.unreliable:
            outcome += " [yellow](unreliable)[/]"
        table.add_row(format_datetime(r.started_at), f"{r.platform}/{r.check}", r.location, outcome,
                      str(r.status_code or "—"), _ms(r.duration), r.error or "")
    out.print(table)
    return EXIT_OK


# --- config check ---------------------------------------------------------------------

def cmd_config_check(args: argparse.Namespace) -> int:
    settings = _settings(args)
    catalog = _catalog(settings)
    monitored = [p for p in catalog.platforms if p.monitored]
    checks = sum(len(p.checks) for p in catalog.platforms)
    out.print(f"configuration OK: {len(catalog.platforms)} platforms ({len(monitored)} monitored), {checks} checks")
    for platform in catalog.platforms:
        if not platform.monitored:
            out.print(f"  {platform.id}: {platform.name} — unmonitored (no known address)")
    return EXIT_OK


# --- lab ------------------------------------------------------------------------------

def _this_week() -> str:
    """This ISO week as ``2026-W22``, the default bulletin week of ``monitor lab``."""
    import datetime as dt

    year, week, _ = dt.date.today().isocalendar()
    return f"{year}-W{week:02d}"


def cmd_lab(args: argparse.Namespace) -> int:
    from monitor.lab.lab import run_lab

    settings = _settings(args)
    return asyncio.run(run_lab(args.scenario, args.week, args.dir, args.speed, settings.checks))


# --- simulate and demo -----------------------------------------------------------------

def cmd_simulate(args: argparse.Namespace) -> int:
    from monitor.config.model import parse_duration
    from monitor.lab.week import platform_lines, simulate_week

    settings = _settings(args)
    load_catalog(settings.checks)  # fail early, with file and line, before starting anything
    directory = args.dir or Path(f"var/sim-{args.week}")
    store = args.store or directory / "monitor.db"
    interval = parse_duration(args.interval) if args.interval else None
    summary = asyncio.run(simulate_week(args.scenario, args.week, directory, store, settings.checks,
                                        days=args.days, interval=interval, concurrency=args.concurrency,
                                        seed=args.seed, console=out))
    table = Table(title=f"Tuần {args.week}: {summary.results} results in {summary.seconds:.0f} s "
                        f"({summary.unreliable} unreliable; store {store})")
    for column in ("platform", "results", "available", "p50 ms", "p95 ms", "top failures"):
        table.add_column(column, justify="right" if column in ("results", "available", "p50 ms", "p95 ms") else "left")
    for row in platform_lines(summary):
        table.add_row(*(str(cell) for cell in row))
    out.print(table)
    out.print(f"ground truth: {summary.truth}\nPAKN export: {summary.export}\ncomplaint truth: {summary.complaint_truth}")
    _truth_side_by_side(summary, settings.model_copy(update={"store": store}), directory)
    return EXIT_OK


def _truth_side_by_side(summary, settings: Settings, directory: Path) -> None:
    """Import the synthetic export, then print each scripted event and complaint verdict beside the truth."""
    from monitor import cli_evidence as ev
    from monitor.evidence import gather, save
    from monitor.lab.sidebyside import complaint_rows, event_rows, render
    from monitor.lab.week import read_truth
    from monitor.store import open_store

    catalog = load_catalog([directory / "checks.yml"])
    imported = ev.import_complaints(summary.export, settings, catalog, summary.end)
    out.print(f"PAKN export imported into {settings.store}: {imported['new']} new complaints")
    history = open_store(settings.store)
    try:
        evidence = gather(history, catalog, summary.start, summary.end, summary.end, settings.incidents,
                          settings.matching)
        save(history, evidence)  # the simulation owns its store: `complaints list` shows these verdicts
    finally:
        history.close()
    confirmation = settings.incidents.failures_to_open * summary.interval
    rows = event_rows(read_truth(summary.truth), evidence.incidents, summary.start, summary.end, confirmation,
                      summary.end)
    truth = [json.loads(line) for line in summary.complaint_truth.read_text(encoding="utf-8").splitlines() if line]
    out.print(render(rows, complaint_rows(truth, evidence.matches)))


def cmd_demo(args: argparse.Namespace) -> int:
    from monitor.lab.demo import run_demo

    settings = _settings(args)
    return asyncio.run(run_demo(args.dir, settings.checks, args.duration, speed=args.speed, console=out))


# --- incidents, complaints, report -------------------------------------------------------

def cmd_incidents(args: argparse.Namespace) -> int:
    from monitor import cli_evidence as ev

    settings = _settings(args)
    catalog = _catalog(settings)
    evidence, _ = ev.gather_period(args, settings, catalog, save=args.save)
    ev.show_incidents(evidence, catalog, out, args.json)
    if args.save:  # on stderr with --json, so stdout stays one JSON document
        (err if args.json else out).print(f"đã lưu {len(evidence.incidents)} sự cố và {len(evidence.matches)} "
                                          f"kết luận phản ánh vào {settings.store}", markup=False)
    return EXIT_OK


def cmd_complaints_import(args: argparse.Namespace) -> int:
    import time

    from monitor import cli_evidence as ev

    settings = _settings(args)
    catalog = _catalog(settings)
    try:
        summary = ev.import_complaints(args.file, settings, catalog, time.time())
    except (OSError, ValueError) as exc:  # unreadable file, no usable header: nothing imported
        raise UsageError(f"{args.file}: {exc}" if str(args.file) not in str(exc) else str(exc)) from None
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        ev.show_import(summary, out)
    return EXIT_OK


def cmd_complaints_list(args: argparse.Namespace) -> int:
    from monitor import cli_complaints as cc

    settings = _settings(args)
    catalog = _catalog(settings)
    try:
        rows, span = cc.list_complaints(args, settings, catalog)
    except cc.FilterError as exc:
        raise UsageError(str(exc)) from None
    cc.show_complaints(rows, span, out, args.json)
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    import time

    from monitor import cli_evidence as ev
    from monitor.report import render_rich, write_report

    settings = _settings(args)
    catalog = _catalog(settings)
    formats = ev.parse_formats(args.format)
    evidence, name = ev.gather_period(args, settings, catalog)
    report = ev.build_weekly_report(evidence, catalog, settings, time.time())
    if not args.quiet:
        render_rich(report, out)
    written = write_report(report, args.out or settings.reports, formats, stem=f"bao-cao-{name}")
    out.print("đã ghi: " + ", ".join(str(p) for p in written), markup=False)
    return EXIT_OK


# --- entry point ----------------------------------------------------------------------

def parser() -> argparse.ArgumentParser:
    """The argument parser of ``monitor``."""
    from monitor import cli_evidence as ev

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--checks", type=Path, action="append", metavar="PATH",
                        help="check file or directory (repeatable; default: settings / checks/)")
    root = argparse.ArgumentParser(prog="monitor", description=__doc__.splitlines()[0])
    root.add_argument("--version", action="version", version=f"monitor {__version__}")
    commands = root.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", parents=[common], help="probe on schedule, serve /metrics, store results")
    run.add_argument("--store", type=Path, help="SQLite history file")
    run.add_argument("--location", help="name of this prober's location")
    run.add_argument("--listen-port", type=int, help="metrics port (address from settings)")
    run.set_defaults(func=cmd_run)

    check = commands.add_parser("check", parents=[common], help="probe now: a platform, platform/check or a URL")
    check.add_argument("target")
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.add_argument("--timeout", type=float, default=10.0, help="deadline for a URL target (seconds)")
    check.set_defaults(func=cmd_check)

    results = commands.add_parser("results", parents=[common], help="the last stored results")
    results.add_argument("-n", type=int, default=20, help="how many (default 20)")
    results.add_argument("--platform")
    results.add_argument("--check", dest="check_id")
    results.add_argument("--store", type=Path, help="SQLite history file")
    results.add_argument("--json", action="store_true")
    results.set_defaults(func=cmd_results)

    lab = commands.add_parser("lab", parents=[common], help="simulated platforms on loopback, for tests and demos")
    lab.add_argument("--scenario", default="peak-week", help="behaviour scenario (default peak-week)")
    lab.add_argument("--week", default=_this_week(), help="bulletin week, e.g. 2026-W22 (default: this week)")
    lab.add_argument("--dir", type=Path, default=Path("var/lab"), help="where ca.pem, checks.yml, truth.jsonl go")
    lab.add_argument("--speed", type=float, default=60.0, help="simulated seconds per real second (default 60)")
    lab.set_defaults(func=cmd_lab)

    simulate = commands.add_parser("simulate", parents=[common], help="a bulletin week against the lab, in minutes")
    simulate.add_argument("--scenario", default="peak-week", help="behaviour scenario (default peak-week)")
    simulate.add_argument("--week", default=_this_week(), help="bulletin week, e.g. 2026-W23 (default: this week)")
    simulate.add_argument("--days", type=float, help="only the first N days of the week")
    simulate.add_argument("--interval", help="run every check at this interval instead (e.g. 10m)")
    simulate.add_argument("--concurrency", type=int, default=200, help="probes in flight (default 200)")
    simulate.add_argument("--seed", type=int, default=0, help="seed of the synthetic complaints")
    simulate.add_argument("--dir", type=Path, help="lab, truth and export directory (default var/sim-WEEK)")
    simulate.add_argument("--store", type=Path, help="SQLite history file (default DIR/monitor.db)")
    simulate.set_defaults(func=cmd_simulate)

    demo = commands.add_parser("demo", parents=[common], help="try it without network: lab + live monitor")
    demo.add_argument("--duration", type=float, help="stop after this many seconds (default: until Ctrl-C)")
    demo.add_argument("--speed", type=float, default=150.0, help="simulated seconds per real second (default 150)")
    demo.add_argument("--dir", type=Path, default=Path("var/demo"), help="lab and store directory")
    demo.set_defaults(func=cmd_demo)

    incidents = commands.add_parser("incidents", parents=[common], help="incidents of a period, from the results")
    ev.add_period_arguments(incidents)
    incidents.add_argument("--json", action="store_true", help="machine-readable output")
    incidents.add_argument("--save", action="store_true",
                           help="also store the incidents and the complaints' verdicts, shown by `complaints list` "
                                "(needs write access; `monitor run` does it hourly)")
    incidents.set_defaults(func=cmd_incidents)

    complaints = commands.add_parser("complaints", help="PAKN complaints")
    complaint_commands = complaints.add_subparsers(dest="complaints_command", required=True)
    complaints_import = complaint_commands.add_parser(
        "import", parents=[common], help="import a PAKN export (CSV, JSON, XLSX): scrub, classify, store")
    complaints_import.add_argument("file", type=Path)
    complaints_import.add_argument("--store", type=Path, help="SQLite history file")
    complaints_import.add_argument("--json", action="store_true", help="machine-readable summary")
    complaints_import.set_defaults(func=cmd_complaints_import)
    complaints_list = complaint_commands.add_parser(
        "list", parents=[common], help="the period's complaints: classification and verdict, no personal data")
    ev.add_period_arguments(complaints_list)
    complaints_list.add_argument("--platform", help="only complaints naming this platform id ('none': naming none)")
    complaints_list.add_argument("--status", help="only complaints with this verdict (e.g. corroborated, pending)")
    complaints_list.add_argument("--json", action="store_true", help="machine-readable output")
    complaints_list.set_defaults(func=cmd_complaints_list)

    report = commands.add_parser("report", parents=[common], help="the week's evidence for the bulletin, in Vietnamese")
    ev.add_period_arguments(report)
    report.add_argument("--format", default="md,docx,html", help="md, docx, html, comma-separated (default: all)")
    report.add_argument("--out", type=Path, help="directory for the files (default: settings reports, var/reports)")
    report.add_argument("--quiet", action="store_true", help="write the files without showing the report")
    report.set_defaults(func=cmd_report)

    config = commands.add_parser("config", help="configuration tools")
    config_commands = config.add_subparsers(dest="config_command", required=True)
    config_check = config_commands.add_parser("check", parents=[common], help="validate and exit")
    config_check.set_defaults(func=cmd_config_check)

    from monitor.grafana.cli import add_parser as add_grafana_parser

    add_grafana_parser(commands, common)

    from monitor.alerts_build import add_parser as add_alerts_parser

    add_alerts_parser(commands, common)
    return root


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``monitor`` console script."""
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as exc:
        for problem in exc.problems:
            err.print(str(problem), markup=False)
        err.print(f"{len(exc.problems)} configuration problem(s); nothing started", markup=False)
    except ValidationError as exc:  # settings from the environment or monitor.yml
        for error in exc.errors():
            field = ".".join(str(p) for p in error["loc"])
            err.print(f"settings: {field}: {error['msg']}", markup=False)
        err.print("invalid settings; nothing started", markup=False)
    except (UsageError, StoreError, PeriodError, FileNotFoundError) as exc:
        err.print(f"monitor: {exc}", markup=False)
    return EXIT_CONFIG


if __name__ == "__main__":
    sys.exit(main())
