"""What every benchmark section is given."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.console import Console


@dataclass
class BenchContext:
    workdir: Path  # an empty directory of the section's own, removed after the run
    quick: bool  # a smoke run: shorter, smaller; its figures are not the ones to quote
    console: Console  # progress goes here (stderr); the table goes to stdout

    def say(self, text: str) -> None:
        self.console.print(text)
