"""What a worker process sends its parent over a pipe: batches of plain tuples, length-prefixed.

One frame is a 4-byte length and a pickled list of messages; each message a tuple whose first
element says what it is. A result travels as the values of its :class:`ProbeResult` fields
(strings, numbers, the phases and details dicts), not as the dataclass, and becomes one again in
the parent (:func:`result_from`). A batch is pickled once, so a worker pays one ``pickle.dumps``
and one ``write`` per batch rather than per result.
"""

from __future__ import annotations

import os
import pickle
import struct
from typing import Any

from monitor.result import ProbeResult, Reason

RESULT, SKIP, LOOP_LAG, SCHEDULER_LAG, SELF_CHECK, STOPPED = range(6)
"""The first element of each message: a result; a skipped run (platform, check, location, why); an observation of
the worker's loop lag or scheduler lag (seconds); a self-check verdict (bool); the worker's last message (how many
probes it cancelled when stopping)."""

Message = tuple[Any, ...]
_LENGTH = struct.Struct("<I")


def result_message(result: ProbeResult) -> Message:
    """``result`` as a plain tuple."""
    r = result
    return (RESULT, r.platform, r.check, r.kind, r.location, r.started_at, r.success, r.duration,
            None if r.reason is None else r.reason.value, r.error, r.phases, r.status_code, r.cert_expiry, r.peer,
            r.details, r.unreliable)


def result_from(message: Message) -> ProbeResult:
    """The result :func:`result_message` made ``message`` from."""
    (_, platform, check, kind, location, started_at, success, duration, reason, error, phases, status_code,
     cert_expiry, peer, details, unreliable) = message
    return ProbeResult(platform=platform, check=check, kind=kind, location=location, started_at=started_at,
                       success=success, duration=duration, reason=None if reason is None else Reason(reason),
                       error=error, phases=phases, status_code=status_code, cert_expiry=cert_expiry, peer=peer,
                       details=details, unreliable=unreliable)


def frame(messages: list[Message]) -> bytes:
    """One frame holding ``messages``."""
    body = pickle.dumps(messages, protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(body)) + body


def write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` to the blocking ``fd`` (a write may be cut short by a signal)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class Frames:
    """Reassembles frames from the pieces a non-blocking read returns."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Message]:
        """The messages of every frame completed by ``data``, in order."""
        self._buffer += data
        messages: list[Message] = []
        start = 0
        while len(self._buffer) - start >= _LENGTH.size:
            (length,) = _LENGTH.unpack_from(self._buffer, start)
            end = start + _LENGTH.size + length
            if len(self._buffer) < end:
                break
            messages += pickle.loads(self._buffer[start + _LENGTH.size:end])
            start = end
        del self._buffer[:start]
        return messages

    @property
    def partial(self) -> bool:
        """Whether a frame was cut off (the worker died while writing it)."""
        return bool(self._buffer)
