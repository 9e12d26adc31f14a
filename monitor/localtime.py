"""Times as people here read them: Asia/Ho_Chi_Minh, dd/mm/yyyy."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


def local(unix_time: float) -> dt.datetime:
    """A Unix time as an aware datetime in Asia/Ho_Chi_Minh."""
    return dt.datetime.fromtimestamp(unix_time, VIETNAM)


def format_datetime(unix_time: float, seconds: bool = True) -> str:
    """``23/11/2026 08:15:02`` in Asia/Ho_Chi_Minh."""
    return local(unix_time).strftime("%d/%m/%Y %H:%M:%S" if seconds else "%d/%m/%Y %H:%M")
