"""``status_page`` in the settings: the public status page `monitor run` serves under ``/status``."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from monitor.config.model import Duration


class StatusPageSettings(BaseModel):
    """``status_page``: whether ``monitor run`` serves it, how often it is recomputed, how far back it looks."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True  # served by `monitor run` under /status, beside /metrics; false: not served at all
    refresh: Annotated[Duration, Field(ge=1, le=3600)] = 30.0  # recomputed at most this often (seconds)
    days: Annotated[int, Field(ge=1, le=366)] = 90  # daily bars per platform
    incident_days: Annotated[int, Field(ge=1, le=90)] = 7  # incidents listed: in progress or in the last N days
    note_max_chars: Annotated[int, Field(ge=1, le=2000)] = 500  # longest operator note `incidents note` accepts
