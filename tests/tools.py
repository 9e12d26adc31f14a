"""The Debian tools tests run for real (promtool, amtool): found on PATH, or a failure that says how to get them."""

from __future__ import annotations

import shutil

import pytest

PACKAGES = {"promtool": "prometheus", "amtool": "prometheus-alertmanager"}


def tool(name: str) -> str:
    """The path of ``name``; fails the test (never skips it) when it is missing."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: apt-get install {PACKAGES[name]} (scripts/test does this)")
    return path
