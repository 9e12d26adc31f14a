"""What every probe shares: the context it runs in and the :class:`Observation` it fills in."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import certifi


class Observation:
    """What a probe saw so far: completed phases, status, certificate, peer.

    A phase is recorded only when it completes; ``phase`` names the one in
    progress, so a deadline can be attributed to it. With ``late`` (see
    :meth:`monitor.ownlag.LoopBusy.late`), ``own`` holds, per completed phase, the
    seconds of it that may be the prober's own delay in reading its end, and in
    reading what it answered inside it (a handshake's flights): none for a phase
    ended by the kernel's receive time of the bytes that end it (``arrival``), unless
    later bytes were read with them (``arrival_alone``), whose time it may be.
    """

    def __init__(self, clock: Callable[[], float], late: Callable[[float], float] | None = None):
        self.clock = clock
        self.late = late
        self.phases: dict[str, float] = {}
        self.own: dict[str, float] = {}
        self.phase: str | None = None
        self.status_code: int | None = None
        self.cert_expiry: float | None = None
        self.peer: str | None = None
        self.details: dict[str, Any] = {}
        self._started: dict[str, float] = {}
        self._own_so_far: dict[str, float] = {}  # per phase in progress: our delay in reading what we answered
        self._since: dict[str, float] = {}  # per phase in progress: when we last answered the target
        self.last_write: float | None = None
        self.write_window = 0.0  # seconds before ``last_write`` the request's last bytes may have left
        self._unsure: dict[str, float] = {}  # per phase in progress: how much earlier it may have begun
        self.arrival: float | None = None
        self.arrival_alone = True

    def begin(self, phase: str, at: float | None = None, unsure: float = 0.0) -> None:
        """Mark ``phase`` as in progress from now (or from ``at``, a reading of the same clock, which may be up to
        ``unsure`` seconds later than the phase's true beginning: counted as our own delay in it)."""
        self.phase = phase
        self._started[phase] = self.clock() if at is None else at
        self._unsure[phase] = unsure

    def wrote(self, window: float = 0.0) -> None:
        """Note that bytes were just handed to the network, in the last ``window`` seconds: the request is sent as
        of the last such moment."""
        self.last_write = self.clock()
        self.write_window = window

    def arrived(self, ago: float, alone: bool = True) -> None:
        """Note that the bytes just read reached this host ``ago`` seconds ago, by the kernel's receive time;
        ``alone``: nothing that came after them was read with them (the kernel keeps one time for segments that
        queued up unread, the newest's: with later bytes, the time may be theirs)."""
        self.arrival = self.clock() - ago
        self.arrival_alone = alone

    def answered(self) -> None:
        """Note that we answer, now, what the target sent inside the phase in progress (a handshake's flight): how
        late we read it is ours, and the phase's end will not show it."""
        phase = self.phase
        if self.late is None or phase is None or phase not in self._started:
            return
        since = self._since.get(phase, self._started[phase])
        self._own_so_far[phase] = self._own_so_far.get(phase, 0.0) + self.late(since)
        self._since[phase] = self.clock()

    def end(self, phase: str, on_arrival: bool = False) -> float | None:
        """Record ``phase`` as completed now (phases repeated across redirects add up); ``on_arrival``: when the
        bytes last read arrived, if the kernel said so since the phase began, which no delay of ours makes late.
        When later bytes came with them, the bytes that end the phase may have come as early as the loop's busy
        time allows: that spread is counted as our own delay. Returns when it ended (None if it had not begun)."""
        started = self._started.pop(phase, None)
        own_so_far, since = self._own_so_far.pop(phase, 0.0), self._since.pop(phase, started)
        unsure = self._unsure.pop(phase, 0.0)
        ended = None
        if started is not None and since is not None:
            stamped = on_arrival and self.arrival is not None and self.arrival >= started
            ended = self.arrival if stamped and self.arrival is not None else self.clock()
            self.phases[phase] = self.phases.get(phase, 0.0) + (ended - started)
            if self.late is not None:
                if not stamped:
                    own = unsure + own_so_far + self.late(since)
                elif self.arrival_alone:
                    own = unsure
                else:  # the reading of the time it came may be a later segment's, back to the loop's bound
                    own = unsure + max(0.0, self.late(since) - (self.clock() - ended))
                self.own[phase] = self.own.get(phase, 0.0) + own
        if self.phase == phase:
            self.phase = None
        return ended

    @contextmanager
    def timing(self, phase: str) -> Iterator[None]:
        """Time a block as ``phase``; a block that raises leaves the phase unrecorded."""
        self.begin(phase)
        yield
        self.end(phase)

    def total(self) -> float | None:
        """The completed phases' sum: the target's time, without our set-up or our work (or delay) between phases."""
        return sum(self.phases.values()) if self.phases else None

    def expiry(self, unix_time: float | None) -> None:
        """Keep the earliest certificate expiry seen (redirects may cross hosts)."""
        if unix_time is not None and (self.cert_expiry is None or unix_time < self.cert_expiry):
            self.cert_expiry = unix_time


@dataclass
class ProbeContext:
    """What a probe may touch, injected so tests control it."""

    location: str = "local"
    source_address: str | None = None  # local IP to connect from (None: the system's choice)
    clock: Callable[[], float] = time.perf_counter  # for durations
    wall_clock: Callable[[], float] = time.time  # for timestamps
    # how late a reading of ``clock`` taken now may be, counting the loop's busy time after the given reading
    # (monitor.ownlag.LoopBusy.late); None: not known, results are judged by the stalls during their run
    # (monitor.looplag)
    late: Callable[[float], float] | None = None
    # HTTP probes: end connect when the SYN-ACK came, processing and transfer when the bytes that end them came,
    # and tls as if each of the server's flights had been read as it came, by the kernel's clock
    # (monitor.probes._stream); False: when the event loop reads them, as where the kernel cannot tell
    arrival_stamps: bool = True
    _ssl_contexts: dict[tuple[bool, Path | None, tuple[str, ...]], ssl.SSLContext] = field(default_factory=dict)

    async def ssl_context(self, verify: bool, ca_file: Path | None, alpn: tuple[str, ...] = ()) -> ssl.SSLContext:
        """A cached client context. Building one reads a CA bundle from disk: done off the event loop, once."""
        key = (verify, ca_file, alpn)
        context = self._ssl_contexts.get(key)
        if context is None:
            context = await asyncio.to_thread(_client_context, verify, ca_file, alpn)
            self._ssl_contexts[key] = context
        return context


class _ProbeSSLContext(ssl.SSLContext):
    """A client context whose ALPN offer is the check's own, for checks that require HTTP/2.

    httpcore sets ALPN on the context at every connect and offers ``http/1.1`` even
    when only HTTP/2 is enabled, so a check requiring HTTP/2 would accept a server
    that chose HTTP/1.1 and then fail with a protocol error. Here httpcore's call
    is ignored: the offer is fixed when the context is built.

    Only for that case: anyio wraps a context of any other type than ``ssl.SSLContext``
    in a worker thread at every handshake (it might block), a thread hop per probe.
    """

    def set_alpn_protocols(self, alpn_protocols: object) -> None:
        pass


# What httpcore offers itself for HTTP/1.1 alone and for both; any other offer needs _ProbeSSLContext.
_HTTPCORE_OFFERS = ({"http/1.1"}, {"http/1.1", "h2"})


def _client_context(verify: bool, ca_file: Path | None, alpn: tuple[str, ...]) -> ssl.SSLContext:
    plain = not alpn or set(alpn) in _HTTPCORE_OFFERS
    context = (ssl.SSLContext if plain else _ProbeSSLContext)(ssl.PROTOCOL_TLS_CLIENT)  # as create_default_context
    context.load_verify_locations(cafile=str(ca_file or certifi.where()))
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if alpn:
        ssl.SSLContext.set_alpn_protocols(context, list(alpn))
    return context
