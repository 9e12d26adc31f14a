"""``monitor grafana build | push | annotate``: a thin layer over :mod:`monitor.grafana`.

Exit codes: 0 done, 1 ``build --check`` found stale JSON or Grafana refused/failed,
2 invalid usage or Grafana settings (as the rest of ``monitor``).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError
from rich.console import Console

if TYPE_CHECKING:
    from grafana_client import GrafanaApi

    from monitor.config.grafana import GrafanaSettings

Command = Callable[[argparse.Namespace], int]

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2
DASHBOARDS_DIR = Path("dashboards")
out = Console(highlight=False)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _client() -> tuple[GrafanaApi, GrafanaSettings]:
    """Grafana from settings (``MONITOR_GRAFANA__URL``, ``__TOKEN`` or ``__TOKEN_FILE``), else ``GRAFANA_*``."""
    from monitor.config import Settings
    from monitor.config.grafana import GrafanaSettings
    from monitor.grafana.client import connect

    settings = Settings().grafana or GrafanaSettings.from_env()
    return connect(settings), settings


def cmd_build(args: argparse.Namespace) -> int:
    from monitor.grafana import dashboards

    built = dashboards.build()
    if args.check:
        stale = dashboards.stale(args.dir, built)
        for path in stale:
            err.print(f"{path}: differs from the dashboards built from code; run `monitor grafana build`",
                      markup=False)
        return EXIT_FAILED if stale else EXIT_OK
    for path in dashboards.write(args.dir, built):
        out.print(f"wrote {path}", markup=False)
    return EXIT_OK


def cmd_push(args: argparse.Namespace) -> int:
    from monitor.grafana import dashboards
    from monitor.grafana.sync import push_dashboards

    client, settings = _client()
    pushed = push_dashboards(client, dashboards.build(), folder_title=settings.folder, message=args.message)
    out.print(f"{len(pushed.dashboards)} dashboards pushed to {settings.url} into folder {settings.folder!r}"
              f"{' (created)' if pushed.folder_created else ''}: {', '.join(pushed.dashboards)}", markup=False)
    return EXIT_OK


def cmd_annotate(args: argparse.Namespace) -> int:
    from monitor.cli_assessment import gather_period
    from monitor.config import Settings, load_catalog
    from monitor.grafana.sync import annotate

    overrides = {k: v for k, v in (("checks", args.checks), ("store", args.store)) if v is not None}
    settings = Settings(**overrides)
    catalog = load_catalog(settings.checks)
    client, grafana = _client()  # before the evidence: a missing URL or token fails fast
    evidence, name = gather_period(args, settings, catalog)  # read only: works on a read-only or locked store
    counts = annotate(client, evidence, catalog, location_names=settings.location_names)
    if args.json:
        print(json.dumps({"period": name, "incidents": len(evidence.incidents), "complaints": len(evidence.complaints),
                          "created": counts.created, "updated": counts.updated, "unchanged": counts.unchanged}))
    else:
        out.print(f"{name}: {len(evidence.incidents)} sự cố, {len(evidence.complaints)} phản ánh → {grafana.url}: "
                  f"tạo mới {counts.created}, cập nhật {counts.updated}, giữ nguyên {counts.unchanged}", markup=False)
    return EXIT_OK


def _guarded(func: Command) -> Command:
    """Report Grafana and Grafana-settings errors here: ``monitor.cli.main`` does not know them."""
    def run(args: argparse.Namespace) -> int:
        from monitor.errors import GrafanaError, GrafanaSettingsError

        try:
            return func(args)
        except GrafanaError as exc:
            err.print(f"monitor grafana: {exc}", markup=False)
            return EXIT_CONFIG if isinstance(exc, GrafanaSettingsError) else EXIT_FAILED
        except ValidationError as exc:
            if exc.title != "GrafanaSettings":
                raise
            for error in exc.errors():
                err.print(f"grafana settings: {'.'.join(map(str, error['loc']))}: {error['msg']}", markup=False)
            return EXIT_CONFIG
    run.__doc__ = func.__doc__
    return run


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser],
               common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add ``grafana build|push|annotate`` to the ``monitor`` sub-commands; ``common`` carries ``--checks``."""
    from monitor.cli_assessment import add_period_arguments
    from monitor.grafana.client import DEFAULT_MESSAGE  # not from sync: grafana_client costs 0.6 s and MBs

    grafana = commands.add_parser("grafana",
                                  help="Grafana: dashboards as code, incidents and complaints as annotations",
                                  description="Grafana: dashboards as code, incidents and complaints as annotations. "
                                              "See 'monitor grafana COMMAND --help'.")
    sub = grafana.add_subparsers(dest="grafana_command", required=True, metavar="COMMAND")

    build = sub.add_parser("build", help="write the dashboards' JSON (dashboards/*.json) from code",
                           description="Write the dashboards' JSON (dashboards/*.json) from code; with --check, "
                                       "write nothing and exit 1 if the committed files differ.")
    build.add_argument("--dir", type=Path, default=DASHBOARDS_DIR, help="output directory (default dashboards/)")
    build.add_argument("--check", action="store_true", help="write nothing; exit 1 if the files differ from code")
    build.set_defaults(func=_guarded(cmd_build))

    push = sub.add_parser("push", help="save the dashboards in Grafana (GRAFANA_URL, GRAFANA_TOKEN[_FILE])",
                          description="Create the folder and save the dashboards in Grafana, overwriting, with a "
                                      "version message. Needs MONITOR_GRAFANA__URL and a token (or GRAFANA_URL, "
                                      "GRAFANA_TOKEN or GRAFANA_TOKEN_FILE).")
    push.add_argument("--message", default=DEFAULT_MESSAGE, help="version message shown in Grafana's history")
    push.set_defaults(func=_guarded(cmd_push))

    annotate = sub.add_parser("annotate", parents=[common],
                              help="incidents and complaints of a period as Grafana annotations (idempotent)",
                              description="The period's incidents (regions) and complaints (points, no personal "
                                          "data) as Grafana annotations; running again updates, never duplicates.")
    add_period_arguments(annotate)
    annotate.add_argument("--json", action="store_true", help="machine-readable counts")
    annotate.set_defaults(func=_guarded(cmd_annotate))
    return grafana
