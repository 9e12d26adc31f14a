"""Measure the Party's shared platforms (gqthc, dichvucong, sotaydangvien, pakn …): probe, store, report.

Exit codes: 0 success; 1 a probe failed (``check``); 2 invalid input (arguments, settings,
checks, files), one line saying what and what to do; 70 an unexpected error, whose traceback
is written to a file the one line names.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import errno
import json
import os
import re
import socket
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, cast

from pydantic import ValidationError
from pydantic_settings import SettingsError
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from monitor import __version__, logs
from monitor.cli_assessment import PeriodError
from monitor.config import Catalog, Check, HttpCheck, Settings, load_catalog
from monitor.errors import ConfigError, StoreError
from monitor.localtime import format_datetime
from monitor.probes import ProbeContext
from monitor.result import PHASES, ProbeResult
from monitor.runner import run_check
from monitor.store.location import describe, store_argument

if TYPE_CHECKING:
    from monitor.lab.week import WeekSummary
    from monitor.scheduler import Job

EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_SOFTWARE = 0, 1, 2, 70  # 70: EX_SOFTWARE of sysexits.h
out = Console(highlight=False)
err = Console(stderr=True, highlight=False, soft_wrap=True)


STORE_HELP = ("history store: a SQLite file, or a PostgreSQL database as postgresql://USER:PASSWORD@HOST:PORT/DB "
              "(default: the store setting, var/monitor.db)")


class UsageError(Exception):
    """A target or option that names nothing; exit code 2."""


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {key: value for key, value in (
        ("checks", getattr(args, "checks", None)), ("store", getattr(args, "store", None)),
        ("location", getattr(args, "location", None)), ("listen_port", getattr(args, "listen_port", None)),
        ("workers", getattr(args, "workers", None)),
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

    def announce(address: str, jobs: list[Job]) -> None:
        out.print(f"monitor {__version__}: location [bold]{settings.location}[/], "
                  f"store {escape(describe(settings.store))}")
        out.print(f"metrics at [bold]{escape(address)}[/]")
        if settings.status_page.enabled:
            out.print(f"status page at [bold]{escape(address.removesuffix('/metrics'))}/status[/]")
        for platform in catalog.platforms:
            checks = ", ".join(f"{c.id} ({c.kind} every {c.interval:g}s)" for c in platform.checks)
            out.print(f"  {platform.id:<16} {escape(platform.name)}: "
                      f"{escape(checks) or '[dim]unmonitored: no known address[/]'}")
        out.print(f"{len(jobs)} checks scheduled; Ctrl-C or SIGTERM stops cleanly")

    try:
        return asyncio.run(run_daemon(settings, catalog, announce))
    except OSError as exc:
        if exc.filename is not None or not (isinstance(exc, socket.gaierror) or exc.errno in _LISTEN_ERRORS):
            raise
        where = f"{settings.listen_address}:{settings.listen_port}"
        if exc.errno == errno.EADDRINUSE:
            todo = "stop what uses the port, or choose another with --listen-port or MONITOR_LISTEN_PORT"
        elif exc.errno == errno.EACCES:
            todo = "ports below 1024 need privileges; choose another with --listen-port or MONITOR_LISTEN_PORT"
        else:
            todo = "choose an address of this machine with MONITOR_LISTEN_ADDRESS (e.g. 127.0.0.1)"
        raise UsageError(f"cannot serve /metrics on {where}: {exc.strerror or exc}; {todo}") from None


_LISTEN_ERRORS = (errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES)


# --- check ----------------------------------------------------------------------------

def _url_target(target: str, timeout: float) -> list[tuple[str, Check]]:
    """A URL target as an ad-hoc HTTP check; a bad URL or timeout is a usage error."""
    if not 0 < timeout < 86400:
        raise UsageError(f"--timeout {timeout:g}: must be more than 0 and less than a day (seconds)")
    try:
        check = HttpCheck.model_validate({"id": "adhoc", "kind": "http", "url": target,
                                          "timeout": timeout, "interval": timeout + 1})
    except ValidationError as exc:
        reason = "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
        raise UsageError(f"invalid URL {target!r}: {reason} (e.g. https://gqthc.dcs.vn/)") from None
    return [("adhoc", check)]


def _targets(catalog: Catalog, target: str, timeout: float) -> list[tuple[str, Check]]:
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


def result_dict(result: ProbeResult) -> dict[str, object]:
    """A result as JSON-ready data."""
    data = dataclasses.asdict(result)
    data["reason"] = result.reason.value if result.reason else None
    return data


def _result_block(r: ProbeResult) -> list[Text]:
    """One result as a few short lines (readable at 80 columns): outcome, phases in ms, peer and certificate.

    Everything that came from a server or a file is a plain :class:`Text`, never Rich markup.
    """
    head = Text(f"{r.platform}/{r.check}: ", style="bold")
    head.append(r.outcome, style="green" if r.success else "red")
    if r.status_code:
        head.append(f" · HTTP {r.status_code}")
    if not r.success:
        head.append(f" after {_ms(r.duration)} ms")
    lines = [head]
    if not r.success and r.error:
        lines.append(Text(f"  {r.error}", style="red"))
    cells = [(phase, _ms(r.phases.get(phase))) for phase in PHASES]
    widths = [max(len(name), len(value)) for name, value in cells]
    lines.append(Text("  " + "  ".join(name.rjust(w) for (name, _), w in zip(cells, widths, strict=True)) + "  (ms)",
                      style="dim"))
    lines.append(Text("  " + "  ".join(value.rjust(w) for (_, value), w in zip(cells, widths, strict=True))))
    where = [f"peer {r.peer}"] if r.peer else []
    if r.cert_expiry:
        where.append(f"certificate expires {format_datetime(r.cert_expiry, seconds=False)}")
    if where:
        lines.append(Text("  " + " · ".join(where)))
    details = ", ".join(f"{k} {v}" for k, v in r.details.items())
    if details:
        lines.append(Text(f"  {details}", style="dim"))
    return lines


def cmd_check(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if "://" in args.target:  # a URL needs no checks: works anywhere, even with none installed
        targets = _url_target(args.target, args.timeout)
    else:
        targets = _targets(_catalog(settings), args.target, args.timeout)
    ctx = ProbeContext(location=settings.location)

    async def run_all() -> list[ProbeResult]:
        return list(await asyncio.gather(*(run_check(p, c, ctx) for p, c in targets)))

    results = asyncio.run(run_all())
    if args.json:
        print(json.dumps([result_dict(r) for r in results], ensure_ascii=False, indent=2))
    else:
        out.print("Probe results (times in ms; Asia/Ho_Chi_Minh)", style="bold")
        for r in results:
            for line in _result_block(r):
                out.print(line)
    return EXIT_OK if all(r.success for r in results) else EXIT_FAILED


# --- results --------------------------------------------------------------------------

def _unknown_filter(settings: Settings, platform: str | None, check: str | None) -> UsageError | None:
    """The error for a --platform/--check with no stored results that the checks do not name either
    (listing the names they know); None when the checks know both: nothing stored for them yet."""
    try:
        catalog = _catalog(settings)
    except ConfigError:
        catalog = Catalog(())
    if platform is not None and catalog.platform(platform) is None:
        known = ", ".join(p.id for p in catalog.platforms) or "none in the checks"
        return UsageError(f"unknown --platform {platform!r}: no stored results (known platforms: {known})")
    found = catalog.platform(platform) if platform else None
    checks = sorted({c.id for p, c in catalog.checks() if found is None or p.id == found.id})
    if check is not None and check not in checks:
        return UsageError(f"unknown --check {check!r}: no stored results (known checks"
                          f"{f' of {platform}' if platform else ''}: {', '.join(checks) or 'none'})")
    return None


def cmd_results(args: argparse.Namespace) -> int:
    from monitor.store import open_store, store_exists

    settings = _settings(args)
    if args.n < 1:
        raise UsageError(f"-n {args.n}: give how many results to show, 1 or more")
    if not store_exists(settings.store):
        raise UsageError(f"no history at {describe(settings.store)} yet: start `monitor run` first")
    store = open_store(settings.store, read_only=True)
    try:
        results = store.recent_results(args.n, platform=args.platform, check=args.check_id)
        filtered = args.platform is not None or args.check_id is not None
        if not results and filtered and store.recent_results(1):  # the store has results, none of these names
            unknown = _unknown_filter(settings, args.platform, args.check_id)
            if unknown is not None:
                raise unknown
    finally:
        store.close()
    if args.json:
        print(json.dumps([result_dict(r) for r in results], ensure_ascii=False, indent=2))
        return EXIT_OK
    table = Table(title=f"Last {len(results)} results (Asia/Ho_Chi_Minh)")
    for column in ("time", "check", "location", "result", "status", "total ms", "error"):
        table.add_column(column, justify="right" if column in ("status", "total ms") else "left", overflow="fold")
    for r in results:  # stored text (errors carry servers' reason phrases) is never Rich markup
        outcome = Text("success", style="green") if r.success else Text(r.outcome, style="red")
        if r.unreliable:
            outcome.append(" (unreliable)", style="yellow")
        table.add_row(format_datetime(r.started_at), Text(f"{r.platform}/{r.check}"), Text(r.location), outcome,
                      str(r.status_code or "—"), _ms(r.duration), Text(r.error or ""))
    out.print(table)
    return EXIT_OK


# --- store copy -----------------------------------------------------------------------

def cmd_store_copy(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from monitor.store import open_store, store_exists
    from monitor.store.history_copy import copy_history, same_store

    source_at, target_at = args.source, args.target
    if same_store(source_at, target_at):
        raise UsageError(f"FROM and TO are the same store ({describe(source_at)}): give two different stores")
    if not store_exists(source_at):
        raise UsageError(f"no history at {describe(source_at)}: FROM must be an existing store (a SQLite file, or a "
                         "PostgreSQL database the monitor has written)")
    source = open_store(source_at, read_only=True)
    try:
        target = open_store(target_at)
        try:
            total = source.count_results()
            console = err if args.json else out
            with Progress(TextColumn("results"), BarColumn(), MofNCompleteColumn(), console=console,
                          transient=True, disable=not console.is_terminal) as progress:
                task = progress.add_task("results", total=total)
                summary = copy_history(source, target, time.time(), source_name=f"copy of {describe(source_at)}",
                                       progress=lambda done, _new: progress.update(task, completed=done))
        finally:
            target.close()
    finally:
        source.close()
    if args.json:
        print(json.dumps({"from": describe(source_at), "to": describe(target_at), **dataclasses.asdict(summary)}))
    else:
        out.print(f"copied {describe(source_at)} → {describe(target_at)}: {summary.results} results "
                  f"({summary.new_results} new), {summary.incidents} incidents, {summary.complaints} complaints "
                  f"({summary.new_complaints} new), {summary.matches} verdicts, {summary.notes} notes", markup=False,
                  soft_wrap=True)
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
    year, week, _ = dt.date.today().isocalendar()
    return f"{year}-W{week:02d}"


def cmd_lab(args: argparse.Namespace) -> int:
    from monitor.lab.lab import run_lab

    settings = _settings(args)
    return asyncio.run(run_lab(args.scenario, args.week, args.dir, args.speed, settings.checks))


# --- simulate and demo -----------------------------------------------------------------

def cmd_simulate(args: argparse.Namespace) -> int:
    from monitor.lab import pki  # noqa: F401  (the lab runs in a subprocess: say here, in one line, if its extra is missing)
    from monitor.lab.week import platform_lines, simulate_week

    settings = _settings(args)
    load_catalog(settings.checks)  # fail early, with file and line, before starting anything
    directory = args.dir or Path(f"var/sim-{args.week}")
    store = args.store or directory / "monitor.db"
    interval = _seconds(args.interval) if args.interval else None
    summary = asyncio.run(simulate_week(args.scenario, args.week, directory, store, settings.checks,
                                        days=args.days, interval=interval, concurrency=args.concurrency,
                                        seed=args.seed, console=out))
    table = Table(title=f"Tuần {args.week}: {summary.results} results in {summary.seconds:.0f} s "
                        f"({summary.unreliable} unreliable; store {describe(store)})")
    for column in ("platform", "results", "available", "p50 ms", "p95 ms", "top failures"):
        table.add_column(column, justify="right" if column in ("results", "available", "p50 ms", "p95 ms") else "left")
    for row in platform_lines(summary):
        table.add_row(*(str(cell) for cell in row))
    out.print(table)
    out.print(f"ground truth: {summary.truth}\nPAKN export: {summary.export}\n"
              f"complaint truth: {summary.complaint_truth}")
    _truth_side_by_side(summary, settings.model_copy(update={"store": store}), directory)
    return EXIT_OK


def _truth_side_by_side(summary: WeekSummary, settings: Settings, directory: Path) -> None:
    """Import the synthetic export, then print each scripted event and complaint verdict beside the truth."""
    from monitor.assessment import gather, import_complaints, save
    from monitor.lab.sidebyside import complaint_rows, event_rows, render
    from monitor.lab.week import read_truth
    from monitor.store import open_store

    catalog = load_catalog([directory / "checks.yml"])
    imported = import_complaints(summary.export, settings, catalog, summary.end)
    out.print(f"PAKN export imported into {describe(settings.store)}: {imported['new']} new complaints")
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
    from monitor import cli_assessment as ca

    settings = _settings(args)
    catalog = _catalog(settings)
    evidence, _ = ca.gather_period(args, settings, catalog, save=args.save)
    ca.show_incidents(evidence, catalog, out, args.json, settings.location_names)
    if args.save:  # on stderr with --json, so stdout stays one JSON document
        (err if args.json else out).print(f"đã lưu {len(evidence.incidents)} sự cố và {len(evidence.matches)} "
                                          f"kết luận phản ánh vào {describe(settings.store)}", markup=False)
    return EXIT_OK


def cmd_incidents_note(args: argparse.Namespace) -> int:
    import time

    from monitor.statuspage.notes import NoteError, note_incident
    from monitor.statuspage.publish import source_for
    from monitor.store import open_store, store_exists

    settings = _settings(args)
    catalog = _catalog(settings)
    if not store_exists(settings.store):
        raise UsageError(f"no history at {describe(settings.store)}: run `monitor run` first, or give --store")
    store = open_store(settings.store)
    try:
        incident, note = note_incident(store, source_for(store, settings, catalog), args.id, args.text, time.time(),
                                       settings.status_page.note_max_chars)
    except NoteError as exc:
        raise UsageError(str(exc)) from None
    finally:
        store.close()
    out.print(f"đã ghi chú sự cố {incident.id}" if note else f"đã xoá ghi chú của sự cố {incident.id}", markup=False)
    return EXIT_OK


def cmd_status_page(args: argparse.Namespace) -> int:
    from monitor.statuspage import publish

    settings = _settings(args)
    catalog = _catalog(settings)
    if args.serve:
        return _serve_status_page(args, settings, catalog)
    summary = publish.summary_now(settings, catalog)
    if args.json:
        from monitor.statuspage.api import render_json

        print(render_json(summary).decode("utf-8"))
        return EXIT_OK
    written = publish.write_files(summary, args.out)
    out.print("đã ghi: " + ", ".join(str(p) for p in written), markup=False)
    return EXIT_OK


def _serve_status_page(args: argparse.Namespace, settings: Settings, catalog: Catalog) -> int:
    import signal
    import threading

    from monitor.statuspage import publish, serve, status_app

    page, store = publish.served_page(settings, catalog)
    try:
        try:
            server, _ = serve(status_app(page), args.address, args.port)
        except OSError as exc:
            if exc.filename is not None or not (isinstance(exc, socket.gaierror) or exc.errno in _LISTEN_ERRORS):
                raise
            raise UsageError(f"cannot serve the status page on {args.address}:{args.port}: {exc.strerror or exc}; "
                             "choose another with --address and --port") from None
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        host = f"[{args.address}]" if ":" in args.address else args.address
        out.print(f"status page at http://{host}:{server.server_port}/status (Ctrl-C stops)", markup=False)
        sys.stdout.flush()
        stop.wait()
        server.shutdown()
        server.server_close()
    finally:
        store.close()
    return EXIT_OK


def cmd_complaints_import(args: argparse.Namespace) -> int:
    import time

    from monitor.assessment import import_complaints
    from monitor.cli_complaints import show_import

    settings = _settings(args)
    if not args.file.is_file():
        what = "is a directory" if args.file.is_dir() else "no such file"
        raise UsageError(f"{args.file}: {what}; give the path of a PAKN export (CSV, JSON or XLSX)")
    catalog = _catalog(settings)
    try:
        summary = import_complaints(args.file, settings, catalog, time.time())
    except (OSError, ValueError) as exc:  # unreadable file, no usable header: nothing imported
        raise UsageError(f"{args.file}: {exc}" if str(args.file) not in str(exc) else str(exc)) from None
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        show_import(summary, out)
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

    from monitor import cli_assessment as ca
    from monitor.assessment import weekly_report
    from monitor.report import render_rich, write_report
    from monitor.report.aside import chart_aside

    settings = _settings(args)
    catalog = _catalog(settings)
    formats = ca.parse_formats(args.format)
    with chart_aside() as draw:  # matplotlib is imported, and the chart drawn, on the other core
        evidence, name = ca.gather_period(args, settings, catalog)
        report = weekly_report(evidence, catalog, settings, time.time())
        chart = draw(report)  # formats is never empty: every format has the chart
        if not args.quiet:
            render_rich(report, out)
        written = write_report(report, args.out or settings.reports, formats, stem=f"bao-cao-{name}",
                               chart=chart())
    out.print("đã ghi: " + ", ".join(str(p) for p in written), markup=False)
    return EXIT_OK


# --- entry point ----------------------------------------------------------------------

DESCRIPTION = """\
Measure the Party's shared digital platforms (gqthc, quantri-gqthc, dichvucong,
sotaydangvien, pakn): availability and latency, a history, incidents, and the
weekly evidence that says whether a complaint was the platform or the commune's
own connection."""

EPILOG = """\
examples:
  monitor check https://gqthc.dcs.vn/      probe one address now
  monitor check gqthc                      probe a platform's checks now
  monitor run                              probe on schedule, serve /metrics
  monitor results --platform pakn          the last stored results of pakn
  monitor demo --duration 90               try it offline against the lab
  monitor complaints import export.xlsx    import a PAKN export
  monitor report --week 2026-W23           section 5 of the bulletin

checks: --checks PATH, else MONITOR_CHECKS, else ./checks, else the checks
shipped with the package. Settings: MONITOR_* variables or monitor.yml.
exit codes: 0 done, 1 a probe failed, 2 invalid input (one line says what
to do), 70 unexpected error (one line says where the traceback is).
'monitor COMMAND --help' describes each command."""

def _positive(text: str) -> float:
    """An argument that must be a number above 0 (a speed, a duration, a count of days)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r}: must be more than 0")
    return value


def _count(text: str) -> int:
    """An argument that must be a whole number of 1 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: must be 1 or more")
    return value


def _week(text: str) -> str:
    """A bulletin week such as ``2026-W23``."""
    from monitor.workcalendar import bulletin_week

    try:
        bulletin_week(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _seconds(text: str) -> float:
    """A duration such as ``10m`` in seconds; raises ValueError for one that is not."""
    from monitor.config.model import parse_duration

    return cast(float, parse_duration(text))  # a validator typed for any input: text gives a float


def _interval(text: str) -> str:
    """A duration such as ``10m`` (kept as text; parsed by the command)."""
    try:
        if _seconds(text) <= 0:
            raise ValueError(f"invalid duration {text!r}: must be more than 0")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _worker_count(text: str) -> int:
    """``--workers``: a whole number of at least 1."""
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise argparse.ArgumentTypeError(f"invalid worker count {text!r}: give a whole number of at least 1, e.g. 2")
    return count


CHECKS_HELP = ("check file or directory of *.yml (repeatable); default: MONITOR_CHECKS, else ./checks, "
               "else the checks shipped with the package")


def _command(commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str, summary: str, details: str = "",
             *, parents: Sequence[argparse.ArgumentParser] = ()) -> argparse.ArgumentParser:
    """A sub-command whose ``--help`` starts with ``summary`` (also shown in the list) and goes on with ``details``."""
    return commands.add_parser(name, help=summary, description=f"{summary[0].upper()}{summary[1:]}. {details}".strip(),
                               parents=parents)


def parser() -> argparse.ArgumentParser:
    """The argument parser of ``monitor``."""
    from monitor.cli_assessment import add_period_arguments

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--checks", type=Path, action="append", metavar="PATH", help=CHECKS_HELP)
    root = argparse.ArgumentParser(prog="monitor", description=DESCRIPTION, epilog=EPILOG,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    root.add_argument("--version", action="version", version=f"monitor {__version__}", help="print the version")
    commands = root.add_subparsers(title="commands", dest="command", required=True, metavar="COMMAND")

    run = _command(commands, "run", "probe on schedule, serve /metrics, store results",
                   "The daemon: every check at its interval, Prometheus metrics at /metrics (default "
                   "http://127.0.0.1:9180/metrics), results in the SQLite history. Ctrl-C or SIGTERM stops it "
                   "cleanly.", parents=[common])
    run.add_argument("--store", type=store_argument, metavar="STORE", help=STORE_HELP)
    run.add_argument("--location", help="name of this prober's location, e.g. hanoi (default: local)")
    run.add_argument("--listen-port", type=int, metavar="PORT",
                     help="metrics port (default 9180; 0 picks a free one; address: MONITOR_LISTEN_ADDRESS)")
    run.add_argument("--workers", type=_worker_count, metavar="N",
                     help="processes that probe, each a share of the checks (default: one per usable core; "
                          "1: probe in this process)")
    run.set_defaults(func=cmd_run)

    check = _command(commands, "check", "probe now: a platform, platform/check or a URL",
                     "Prints status, phases in ms, certificate and reason. Exit 0 when every probe succeeds, "
                     "1 when one fails, 2 for an unknown target.", parents=[common])
    check.add_argument("target", help="a platform id (gqthc), one of its checks (gqthc/home) or a URL "
                                      "(https://…, needs no checks)")
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.add_argument("--timeout", type=_positive, default=10.0, metavar="SECONDS",
                       help="deadline for a URL target (default 10)")
    check.set_defaults(func=cmd_check)

    results = _command(commands, "results", "the last stored results",
                       "Newest first, times in Asia/Ho_Chi_Minh. An unknown --platform or --check exits 2 "
                       "listing the known ones.", parents=[common])
    results.add_argument("-n", type=_count, default=20, metavar="N", help="how many results (default 20)")
    results.add_argument("--platform", help="only this platform id, e.g. gqthc")
    results.add_argument("--check", dest="check_id", metavar="CHECK", help="only this check id, e.g. home")
    results.add_argument("--store", type=store_argument, metavar="STORE", help=STORE_HELP)
    results.add_argument("--json", action="store_true", help="machine-readable output")
    results.set_defaults(func=cmd_results)

    lab = _command(commands, "lab", "simulated platforms on loopback, for tests and demos",
                   "Serves every platform of the checks on 127.0.0.1 with a local CA until stopped; writes "
                   "checks.yml (for the monitor), ca.pem and truth.jsonl into --dir.", parents=[common])
    lab.add_argument("--scenario", default="peak-week", help="behaviour scenario (default peak-week)")
    lab.add_argument("--week", type=_week, default=_this_week(),
                     help="bulletin week, e.g. 2026-W22 (default: this week)")
    lab.add_argument("--dir", type=Path, default=Path("var/lab"), help="where ca.pem, checks.yml, truth.jsonl go "
                                                                      "(default var/lab)")
    lab.add_argument("--speed", type=_positive, default=60.0, help="simulated seconds per real second (default 60)")
    lab.set_defaults(func=cmd_lab)

    simulate = _command(commands, "simulate", "a bulletin week against the lab, in minutes",
                        "Probes the week (or its first --days) against a fresh lab in simulated time, stores the "
                        "results, imports a synthetic PAKN export and prints the lab's truth side by side.",
                        parents=[common])
    simulate.add_argument("--scenario", default="peak-week", help="behaviour scenario (default peak-week)")
    simulate.add_argument("--week", type=_week, default=_this_week(),
                          help="bulletin week, e.g. 2026-W23 (default: this week)")
    simulate.add_argument("--days", type=_positive, help="only the first N days of the week")
    simulate.add_argument("--interval", type=_interval, help="run every check at this interval instead (e.g. 10m)")
    simulate.add_argument("--concurrency", type=_count, default=200, help="probes in flight (default 200)")
    simulate.add_argument("--seed", type=int, default=0, help="seed of the synthetic complaints (default 0)")
    simulate.add_argument("--dir", type=Path, help="lab, truth and export directory (default var/sim-WEEK)")
    simulate.add_argument("--store", type=store_argument, metavar="STORE",
                          help="SQLite history file or postgresql:// URL (default DIR/monitor.db)")
    simulate.set_defaults(func=cmd_simulate)

    demo = _command(commands, "demo", "try it without network: lab + live monitor",
                    "Starts the platform lab and the real monitor against it, time compressed, with a live table; "
                    "ends with the report and the truth side by side. Nothing leaves the machine.", parents=[common])
    demo.add_argument("--duration", type=_positive, metavar="SECONDS",
                      help="stop after this many seconds (default: until Ctrl-C)")
    demo.add_argument("--speed", type=_positive, default=150.0, help="simulated seconds per real second (default 150)")
    demo.add_argument("--dir", type=Path, default=Path("var/demo"), help="lab and store directory (default var/demo)")
    demo.set_defaults(func=cmd_demo)

    incidents = _command(commands, "incidents", "incidents of a period, from the results",
                         "Recomputed from the stored results; only reads the store (read-only or locked is fine) "
                         "unless --save. Periods: --week 2026-W23 or --from/--to; default the last complete "
                         "bulletin week.", parents=[common])
    add_period_arguments(incidents)
    incidents.add_argument("--json", action="store_true", help="machine-readable output")
    incidents.add_argument("--save", action="store_true",
                           help="also store the incidents and the complaints' verdicts, shown by `complaints list` "
                                "(needs write access; `monitor run` does it hourly)")
    incidents.set_defaults(func=cmd_incidents)
    incident_commands = incidents.add_subparsers(dest="incidents_command", metavar="[note]")
    note = _command(incident_commands, "note", "an operator's note on an incident, shown on the status page",
                    "The only free text the page shows (escaped there), e.g. \"Đang khắc phục, dự kiến 10h30\"; "
                    "an empty TEXT removes it. ID: an incident in progress or in the last days (status_page."
                    "incident_days), as `monitor incidents --json` and /status/api/v1/summary show it.",
                    parents=[common])
    note.add_argument("id", metavar="ID", help="the incident, e.g. gqthc-20261126T081500")
    note.add_argument("text", metavar="TEXT", help="the note (\"\" removes it)")
    note.add_argument("--store", type=store_argument, metavar="STORE", default=argparse.SUPPRESS, help=STORE_HELP)
    note.set_defaults(func=cmd_incidents_note)

    status_page = _command(commands, "status-page", "the public status page, from the store",
                           "Vietnamese, one page: each platform's state, 90 daily bars, today's peak-hour latency, "
                           "incidents and operators' notes; no personal data. Written to --out (index.html and "
                           "api/v1/summary), printed with --json, or served with --serve. Reads the store only. "
                           "`monitor run` serves the same page under /status.", parents=[common])
    status_page.add_argument("--store", type=store_argument, metavar="STORE", help=STORE_HELP)
    shown = status_page.add_mutually_exclusive_group()
    shown.add_argument("--out", type=Path, metavar="DIR", default=Path("var/status"),
                       help="directory for index.html and api/v1/summary (default var/status)")
    shown.add_argument("--json", action="store_true", help="print the JSON summary instead")
    shown.add_argument("--serve", action="store_true", help="serve /status until Ctrl-C or SIGTERM")
    status_page.add_argument("--address", default="127.0.0.1", help="with --serve: address (default 127.0.0.1)")
    status_page.add_argument("--port", type=int, default=9181, help="with --serve: port (default 9181; 0: any free)")
    status_page.set_defaults(func=cmd_status_page)

    complaints = _command(commands, "complaints", "PAKN complaints: import an export, list what was imported",
                          "See 'monitor complaints import --help' and 'monitor complaints list --help'.")
    complaint_commands = complaints.add_subparsers(dest="complaints_command", required=True, metavar="COMMAND")
    complaints_import = _command(
        complaint_commands, "import", "import a PAKN export (CSV, JSON, XLSX): scrub, classify, store",
        "Bad rows are listed by row number and reason and written to FILE.rejects.csv; importing again adds "
        "nothing.", parents=[common])
    complaints_import.add_argument("file", type=Path, metavar="FILE",
                                   help="the export: CSV (with or without BOM, ',' or ';'), JSON or XLSX")
    complaints_import.add_argument("--store", type=store_argument, metavar="STORE", help=STORE_HELP)
    complaints_import.add_argument("--json", action="store_true", help="machine-readable summary")
    complaints_import.set_defaults(func=cmd_complaints_import)
    complaints_list = _command(
        complaint_commands, "list", "the period's complaints: classification and verdict, no personal data",
        "Never the text or the sender. An unknown --platform or --status exits 2 listing the valid ones.",
        parents=[common])
    add_period_arguments(complaints_list)
    complaints_list.add_argument("--platform", help="only complaints naming this platform id ('none': naming none)")
    complaints_list.add_argument("--status", help="only complaints with this verdict (e.g. corroborated, pending)")
    complaints_list.add_argument("--json", action="store_true", help="machine-readable output")
    complaints_list.set_defaults(func=cmd_complaints_list)

    report = _command(commands, "report", "the week's evidence for the bulletin, in Vietnamese",
                      "Section 5 of the bulletin, shown here and written as Markdown, DOCX and HTML (and the "
                      "chart) to --out.", parents=[common])
    add_period_arguments(report)
    report.add_argument("--format", default="md,docx,html", help="md, docx, html, comma-separated (default: all)")
    report.add_argument("--out", type=Path, metavar="DIR",
                        help="directory for the files (default: settings reports, var/reports)")
    report.add_argument("--quiet", action="store_true", help="write the files without showing the report")
    report.set_defaults(func=cmd_report)

    store = _command(commands, "store", "history store tools", "See 'monitor store copy --help'.")
    store_commands = store.add_subparsers(dest="store_command", required=True, metavar="COMMAND")
    store_copy = _command(
        store_commands, "copy", "copy a whole history from one store into another (SQLite or PostgreSQL)",
        "Results (streamed oldest first, in batches), incidents, complaints with their classifications, verdicts "
        "and incident notes. FROM must exist; TO is created (a SQLite file) or migrated (a PostgreSQL database "
        "that exists). Copying again adds nothing. A store is a file path or "
        "postgresql://USER:PASSWORD@HOST:PORT/DB.", parents=[common])
    store_copy.add_argument("source", type=store_argument, metavar="FROM", help="the store to read")
    store_copy.add_argument("target", type=store_argument, metavar="TO", help="the store to write")
    store_copy.add_argument("--json", action="store_true", help="machine-readable summary")
    store_copy.set_defaults(func=cmd_store_copy)

    config = _command(commands, "config", "configuration tools", "See 'monitor config check --help'.")
    config_commands = config.add_subparsers(dest="config_command", required=True, metavar="COMMAND")
    config_check = _command(config_commands, "check", "validate the checks and settings, then exit",
                            "Prints a summary and exits 0, or every problem with file and line and exits 2.",
                            parents=[common])
    config_check.set_defaults(func=cmd_config_check)

    from monitor.grafana.cli import add_parser as add_grafana_parser

    add_grafana_parser(commands, common)

    from monitor.alerts_build import add_parser as add_alerts_parser

    add_alerts_parser(commands, common)
    return root


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``monitor`` console script: never a traceback, one line per problem."""
    from monitor.config.settings import unknown_environment

    for warning in unknown_environment(os.environ):
        err.print(warning, markup=False)
    args = parser().parse_args(argv)
    try:
        command: Callable[[argparse.Namespace], int] = args.func
        return command(args)
    except ConfigError as exc:
        for problem in exc.problems:
            err.print(str(problem), markup=False)
        err.print(f"{len(exc.problems)} configuration problem(s); nothing started", markup=False)
    except SettingsError as exc:  # a value the settings sources cannot even parse (e.g. a list that is not JSON)
        err.print(_settings_parse_error(exc), markup=False)
    except ValidationError as exc:
        if exc.title != "Settings":
            return _unexpected(exc)
        for error in exc.errors():  # settings from the environment or monitor.yml
            field = ".".join(str(p) for p in error["loc"])
            variable = "MONITOR_" + "__".join(str(p) for p in error["loc"] if isinstance(p, str)).upper()
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
                message = "unknown setting"  # the warning above names the closest valid one
            err.print(f"settings: {field}: {message} (set by {variable} or monitor.yml)", markup=False)
        err.print("invalid settings; nothing started", markup=False)
    except (UsageError, StoreError, PeriodError) as exc:
        err.print(f"monitor: {exc}", markup=False)
    except BrokenPipeError:  # the reader went away (`monitor results | head`): nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    except OSError as exc:
        if exc.filename is None and not isinstance(exc, FileNotFoundError):
            return _unexpected(exc)
        err.print(f"monitor: {_os_error(exc)}", markup=False)
    except KeyboardInterrupt:
        err.print("monitor: interrupted", markup=False)
        return 130
    except Exception as exc:  # the last resort: the traceback goes to a file, not the terminal
        return _unexpected(exc)
    return EXIT_CONFIG


def _settings_parse_error(exc: SettingsError) -> str:
    """``error parsing value for field "checks" from source "EnvSettingsSource"`` as what to do."""
    found = re.search(r'field "([^"]+)" from source "([^"]+)"', str(exc))
    if found is None:
        return f"settings: {exc}; check the MONITOR_* variables and monitor.yml"
    field, source = found.groups()
    where = f"MONITOR_{field.upper()}" if source.startswith("Env") else f"{field} in {source}"
    return (f"settings: {where}: cannot read the value: lists and mappings are JSON, "
            f"e.g. MONITOR_CHECKS='[\"checks\"]' or MONITOR_PEAK_HOURS='[\"07:30-11:00\"]'")


def _os_error(exc: OSError) -> str:
    """A file problem as one line: the path, what is wrong, what to do."""
    if exc.filename is None:  # our own message, already saying what to do
        return str(exc)
    path = exc.filename
    what = (exc.strerror or str(exc)).lower()
    if isinstance(exc, FileNotFoundError):
        return f"{path}: {what}; check the path (relative paths start in {Path.cwd()})"
    if isinstance(exc, PermissionError):
        return f"{path}: {what}; check the path and its permissions, or choose another"
    return f"{path}: {what}; check the path"


def _unexpected(exc: BaseException) -> int:
    """Write the traceback to a private file and say where, in one line; exit 70."""
    name = f"monitor-error-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    path = Path(tempfile.gettempdir()) / name
    try:
        from monitor.private import open_private

        with open_private(path, "w", encoding="utf-8") as file:
            file.write(f"monitor {__version__}: {' '.join(sys.argv)}\n")
            traceback.print_exception(exc, file=file)
        where = f"the traceback is in {path}"
    except OSError:
        where = "the traceback could not be written"
    summary = (str(exc).splitlines() or [""])[0][:200]
    err.print(f"monitor: unexpected error ({type(exc).__name__}: {summary}); {where}; please report it",
              markup=False)
    return EXIT_SOFTWARE


if __name__ == "__main__":
    sys.exit(main())
