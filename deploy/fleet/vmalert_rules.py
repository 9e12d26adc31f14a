#!/usr/bin/env python3
"""alerts/rules/*.yml for vmalert: the same groups, rules, expressions, ``for:``, labels and annotations.

vmalert 1.79 (Debian bookworm's ``victoria-metrics``) refuses a rule with ``keep_firing_for`` ("unknown
fields in rule"), which Prometheus ≥ 2.42 knows; this drops that one field and keeps everything else
byte-for-byte in meaning. Consequence on vmalert: PlatformDown resolves as soon as its expression is
false, without the 10-minute hold that makes one flapping outage one page on Prometheus.

    deploy/fleet/vmalert_rules.py [--rules DIR] --out DIR

Writes one file per rule file into DIR; prints the rules whose ``keep_firing_for`` was dropped.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent.parent
UNSUPPORTED = ("keep_firing_for",)


def convert(data: dict) -> tuple[dict, list[str]]:
    """The rule file ``data`` without the fields vmalert refuses; the names of the rules changed."""
    changed: list[str] = []
    for group in data.get("groups", []):
        for rule in group.get("rules", []):
            if any(rule.pop(key, None) is not None for key in UNSUPPORTED):
                changed.append(rule.get("alert") or rule.get("record", "?"))
    return data, changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rules", type=Path, default=REPO / "alerts" / "rules")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    files = sorted(args.rules.glob("*.yml"))
    if not files:
        print(f"vmalert_rules.py: no rule files (*.yml) in {args.rules}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    for path in files:
        data, changed = convert(yaml.safe_load(path.read_text(encoding="utf-8")))
        (args.out / path.name).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
        for name in changed:
            print(f"{path.name}: {name}: keep_firing_for dropped (vmalert 1.79 has none)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
