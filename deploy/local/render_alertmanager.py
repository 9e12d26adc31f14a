#!/usr/bin/env python3
"""Render alerts/alertmanager.yml for a local or test Alertmanager: same routes, same inhibitions.

alerts/alertmanager.yml stays the ONE source of truth for routing and inhibition. This
script only swaps what would leave the machine:

* every receiver keeps its name (so routing is unchanged and visible in notifications as
  ``"receiver": "oncall-page"``) but its Telegram / e-mail / webhook configs are replaced by
  ONE ``webhook_configs`` entry to ``--webhook URL`` (``send_resolved: true``), or by nothing
  at all without ``--webhook`` (a receiver with no configs drops notifications: alerts are
  still visible in the Alertmanager UI, nothing is sent anywhere);
* ``templates:`` paths are made absolute (they are relative to the source file);
* ``--group-wait/--group-interval/--repeat-interval`` override those timings on the root
  route and on every child route that sets them (tests only: the shipped 30s/5m are kept
  otherwise).

Needs only PyYAML (Debian: python3-yaml; the project's virtualenv has it).

    python3 deploy/local/render_alertmanager.py --webhook http://127.0.0.1:8080/hook > /tmp/am.yml
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "alerts" / "alertmanager.yml"
TIMINGS = ("group_wait", "group_interval", "repeat_interval")


def render(source: Path = SOURCE, webhook: str | None = None, timings: dict[str, str] | None = None) -> dict:
    """The rendered configuration as data."""
    config = yaml.safe_load(source.read_text(encoding="utf-8"))
    for receiver in config.get("receivers", []):
        name = receiver["name"]
        receiver.clear()
        receiver["name"] = name
        if webhook:
            receiver["webhook_configs"] = [{"url": webhook, "send_resolved": True}]
    config["templates"] = [str((source.parent / pattern).resolve()) if not Path(pattern).is_absolute() else pattern
                           for pattern in config.get("templates", [])]
    # No receiver sends e-mail any more: the SMTP globals (and their secret file) are not needed.
    for key in [k for k in config.get("global", {}) if k.startswith("smtp_")]:
        del config["global"][key]
    if timings:
        _override(config["route"], timings, root=True)
    return config


def _override(route: dict, timings: dict[str, str], root: bool) -> None:
    for key, value in timings.items():
        if value and (root or key in route):
            route[key] = value
    for child in route.get("routes", []) or []:
        _override(child, timings, root=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SOURCE,
                        help="Alertmanager config to render (default: %(default)s)")
    parser.add_argument("--webhook", help="URL every receiver posts to (default: receivers without configs)")
    for key in TIMINGS:
        parser.add_argument("--" + key.replace("_", "-"), dest=key, help=f"override {key} (tests)")
    parser.add_argument("--out", type=Path, help="write here instead of stdout")
    args = parser.parse_args(argv)
    config = render(args.source, args.webhook, {key: getattr(args, key) for key in TIMINGS})
    text = ("# Rendered by deploy/local/render_alertmanager.py from " + str(args.source) + ". Do not edit.\n"
            + yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
