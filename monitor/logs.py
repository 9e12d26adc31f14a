"""How the daemon logs: times in Asia/Ho_Chi_Minh as dd/mm/yyyy; Rich on a terminal, plain lines elsewhere.

Logging runs on the event loop's thread, so its cost is the prober's: Rich renders each
record as a table (about a millisecond), which at hundreds of records a second under an
outage or overload became most of the prober's CPU. Where nobody reads colours (journald,
a file, a pipe) a plain formatter does the same job for a fraction of that.
"""

from __future__ import annotations

import datetime as dt
import logging

from rich.console import Console
from rich.logging import RichHandler
from rich.text import Text

from monitor.localtime import format_datetime

NOISY = ("httpx", "httpcore", "apscheduler")  # one line per request or job run drowns what matters


class _VietnamTime(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # logging's name
        return format_datetime(record.created)


def _rich_time(moment: dt.datetime) -> Text:
    return Text(format_datetime(moment.timestamp()))


def configure(level: str, console: Console) -> None:
    """Send the process's logs to ``console``'s stream at ``level``."""
    if console.is_terminal:
        handler: logging.Handler = RichHandler(console=console, show_path=False, log_time_format=_rich_time)
        handler.setFormatter(logging.Formatter("%(message)s"))
    else:
        handler = logging.StreamHandler(console.file)
        handler.setFormatter(_VietnamTime("%(asctime)s %(levelname)-8s %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    if level != "DEBUG":
        for noisy in NOISY:
            logging.getLogger(noisy).setLevel(logging.WARNING)
