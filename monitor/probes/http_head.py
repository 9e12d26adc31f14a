"""The common response head, read in one pass: a strict subset of h11's grammar, for the lean HTTP path.

h11 turns a response into events in several Python-level steps each (about 40 µs an event on a cold CPU,
a quarter of a millisecond a probe at 50 probes/s; docs/performance.md). Most answers to a probe have one
plain shape: ``HTTP/1.0`` or ``HTTP/1.1``, a status from 200 to 599 other than 204 and 304, header lines of
visible ASCII separated by single spaces or tabs, one ``Content-Length`` of at most 18 digits and no
``Transfer-Encoding``, in answer to a GET. :func:`read_head` reads that shape; any other bytes it leaves to
h11, from their first byte, so every other response (and every malformed one) gets exactly h11's events
and errors. A head it accepts, h11 accepts too, with the same status, reason, version, headers (as sent,
names in their case) and body length (``tests/test_http_head.py`` holds the two side by side).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

MORE: Final = "more"  # no blank line yet, and the bytes so far can still begin such a head
OTHER: Final = "other"  # not that shape (or not yet known to be, beyond the size limit): h11 reads it

_BLANK_LINE = re.compile(rb"\n\r?\n")  # where h11 ends a head
_STATUS = re.compile(rb"HTTP/(1\.[01]) ([2-5][0-9][0-9]) ([\x20-\x7e]*)\r\n")
_FIELD = re.compile(rb"([-!#$%&'*+.^_`|~0-9A-Za-z]+):[ \t]*((?:[\x21-\x7e]+(?:[ \t]+[\x21-\x7e]+)*)?)[ \t]*\r\n")
_LENGTH = re.compile(rb"[0-9]{1,18}")
_START = b"HTTP/"


@dataclass(frozen=True, slots=True)
class Head:
    status_code: int
    reason: bytes
    http_version: bytes  # b"1.1" or b"1.0"
    headers: list[tuple[bytes, bytes]]  # as sent: names in their case, values without surrounding spaces
    length: int  # the body's bytes, from Content-Length
    size: int  # the head's bytes, its blank line included


def read_head(data: bytes | bytearray, limit: int, searched: int = 0) -> Head | Literal["more", "other"]:
    """The head at the start of ``data`` (a GET's answer) if it has the plain shape; :data:`MORE` while it may
    still, and is no longer than ``limit`` without its blank line (h11's ``max_incomplete_event_size``);
    :data:`OTHER` otherwise. ``searched``: how far earlier calls looked for the blank line (pass ``len`` of
    the bytes they had), so a head that comes a byte at a time costs linear time."""
    end = _BLANK_LINE.search(data, max(0, searched - 2))
    if end is None:
        return MORE if len(data) <= limit and _START.startswith(data[:len(_START)]) else OTHER
    head = bytes(data[:end.end()])
    status = _STATUS.match(head)
    if status is None:
        return OTHER
    code = int(status[2])
    if code in (204, 304):  # no body whatever the headers say
        return OTHER
    headers: list[tuple[bytes, bytes]] = []
    length: int | None = None
    at, last = status.end(), len(head) - 2  # the blank line's CRLF
    while at < last:
        field = _FIELD.match(head, at)
        if field is None:
            return OTHER
        name, value = field[1], field[2]
        lowered = name.lower()
        if lowered == b"transfer-encoding":
            return OTHER
        if lowered == b"content-length":
            if length is not None or not _LENGTH.fullmatch(value):
                return OTHER
            length = int(value)
        headers.append((name, value))
        at = field.end()
    if at != last or head[last:] != b"\r\n" or length is None:
        return OTHER
    return Head(code, status[3], status[1], headers, length, len(head))
