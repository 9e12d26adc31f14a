"""``self_check`` in the settings: what a prober probes to know its own network works (monitor/selfcheck.py)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, model_validator

from monitor.config.model import Address, Duration


class SelfCheckSettings(BaseModel):
    """``self_check`` in the settings: what the prober probes to know its own network works."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: AnyHttpUrl | None = None  # reference target; any HTTP status counts as reachable
    resolve_name: str | None = None  # a name the resolver must answer (A record, NOERROR)
    resolver: Address | None = None  # "IP[:PORT]"; default: the system resolver (/etc/resolv.conf)
    interval: Duration = 15.0
    timeout: Annotated[Duration, Field(le=30)] = 5.0

    @model_validator(mode="after")
    def _something_to_check(self) -> SelfCheckSettings:
        if self.url is None and self.resolve_name is None:
            raise ValueError("self_check needs url, resolve_name or both")
        if self.timeout >= self.interval:
            raise ValueError(f"self_check.timeout must be shorter than its interval ({self.timeout:g}s >= "
                             f"{self.interval:g}s)")
        return self
