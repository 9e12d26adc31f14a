"""Help an operator can read: every command and argument described, examples, output that fits 80 columns."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from monitor.cli import parser


def monitor(*args: str, cwd: Path, columns: int = 80) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("MONITOR_")}
    return subprocess.run([sys.executable, "-m", "monitor.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env={**env, "COLUMNS": str(columns)}, timeout=60)


def _commands(node: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """Every (command path, parser, help in the parent's list) below ``node``."""
    for action in node._actions:
        if isinstance(action, argparse._SubParsersAction):
            listed = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                yield (*path, name), sub, listed.get(name)
                yield from _commands(sub, (*path, name))


def test_every_command_and_argument_is_described():
    undescribed = []
    for path, sub, listed in _commands(parser()):
        name = " ".join(path)
        if not listed:
            undescribed.append(f"{name}: not described in its parent's list")
        if not sub.description:
            undescribed.append(f"{name}: no description in its --help")
        for action in sub._actions:
            if not isinstance(action, argparse._SubParsersAction) and not action.help:
                undescribed.append(f"{name}: {'/'.join(action.option_strings) or action.dest}: no help")
    assert undescribed == []


def test_top_level_help_is_for_users_with_examples(tmp_path):
    done = monitor("--help", cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout.splitlines()[2] == \
        "Measure the Party's shared digital platforms (gqthc, quantri-gqthc, dichvucong,"
    assert "examples:" in done.stdout.splitlines()
    assert "  monitor check https://gqthc.dcs.vn/      probe one address now" in done.stdout.splitlines()
    assert ["demo", "try it without network: lab + live monitor"] in [line.split(None, 1) for line in
                                                                     done.stdout.splitlines()]
    assert "thin layer" not in done.stdout  # no developer docstring
    assert max(len(line) for line in done.stdout.splitlines()) <= 80


def test_positionals_are_explained(tmp_path):
    check = monitor("check", "--help", cwd=tmp_path).stdout
    assert ["target", "a platform id (gqthc), one of its checks (gqthc/home) or"] in [
        line.split(None, 1) for line in check.splitlines()]
    imported = monitor("complaints", "import", "--help", cwd=tmp_path).stdout
    assert any(line.split(None, 1)[:1] == ["FILE"] and "the export: CSV (with or without BOM" in line
               for line in imported.splitlines())




def test_check_output_fits_80_columns(tmp_path, https_port, pki):
    """A TLS check (every phase, a certificate, a peer) and a failed one, at COLUMNS=80: nothing cut."""
    checks = tmp_path / "checks.yml"
    checks.write_text(
        "platforms:\n"
        "  - id: quantri-gqthc\n"
        "    name: Quản trị hệ thống giải quyết TTHC\n"
        "    checks:\n"
        "      - id: home\n"
        "        kind: http\n"
        "        url: https://gqthc.dcs.vn/ok\n"
        f"        resolve: {{gqthc.dcs.vn: '127.0.0.1:{https_port}'}}\n"
        f"        tls: {{ca_file: {pki.ca_file}}}\n"
        "      - id: missing-page-with-a-long-name\n"
        "        kind: http\n"
        "        url: https://gqthc.dcs.vn/status/404\n"
        f"        resolve: {{gqthc.dcs.vn: '127.0.0.1:{https_port}'}}\n"
        f"        tls: {{ca_file: {pki.ca_file}}}\n",
        encoding="utf-8")
    done = monitor("check", "quantri-gqthc", "--checks", str(checks), cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert max(map(len, lines)) <= 80 and "…" not in done.stdout
    assert "quantri-gqthc/home: success · HTTP 200" in lines
    assert any(line.startswith("quantri-gqthc/missing-page-with-a-long-name: http_status · HTTP 404 after ")
               for line in lines)
    header = lines.index("quantri-gqthc/home: success · HTTP 200") + 1
    assert lines[header].split() == ["resolve", "connect", "tls", "processing", "transfer", "total", "(ms)"]
    assert all(cell != "—" for cell in lines[header + 1].split()[1:])  # connect … total all measured
    assert lines[header + 2].startswith(f"  peer 127.0.0.1:{https_port} · certificate expires ")
