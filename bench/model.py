"""What a benchmark section reports: figures, each with our value, the peer's and the budget."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Literal

PEER = "blackbox_exporter 0.23"


@dataclass(frozen=True)
class Budget:
    """A goal from the issue: ``ours <op> limit`` and/or ``ours <op> peer × factor + offset``; all given must hold."""

    op: Literal["<=", ">="]
    limit: float | None = None  # absolute, in the figure's unit
    factor: float | None = None  # relative to the peer's value
    offset: float = 0.0

    def met(self, ours: float | None, peer: float | None) -> bool | None:
        """Whether ``ours`` meets the budget; None when it cannot be judged (a value is missing)."""
        if ours is None or math.isnan(ours) or (self.factor is not None and peer is None):
            return None
        bounds = [self.limit] if self.limit is not None else []
        if self.factor is not None:
            bounds.append(peer * self.factor + self.offset)  # type: ignore[operator]
        return all(ours <= bound if self.op == "<=" else ours >= bound for bound in bounds)

    def text(self, unit: str) -> str:
        parts = [f"{self.op} {self.limit:g} {unit}"] if self.limit is not None else []
        if self.factor is not None:
            relative = "peer" if self.factor == 1 else f"{self.factor:g}× peer"
            parts.append(f"{self.op} {relative}" + (f" + {self.offset:g} {unit}" if self.offset else ""))
        return " and ".join(parts)


@dataclass(frozen=True)
class Figure:
    """One measured number, ours beside the peer's where the peer does the same thing."""

    section: str  # fidelity, cost, capacity, scale, report
    name: str  # what was measured, e.g. "processing error p99 at 50/s"
    unit: str
    ours: float | None
    peer: float | None = None
    budget: Budget | None = None
    note: str = ""

    @property
    def met(self) -> bool | None:
        return self.budget.met(self.ours, self.peer) if self.budget else None

    def as_json(self) -> dict:
        data = asdict(self)
        data["budget"] = self.budget.text(self.unit) if self.budget else None
        data["met"] = self.met
        data["peer_name"] = PEER if self.peer is not None else None
        return data
