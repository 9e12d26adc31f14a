"""The benchmark's truth on the wire: when each request reached the target and its answer came back.

A prober's ``processing`` phase is the time from its request leaving to the answer's first bytes
arriving. nginx's own log (``$request_time``) reads a clock cached once per turn of its event loop:
when nginx is busy (a turn of several handshakes), it logs less than the answer really took, and a
prober that is right looks late. Here a packet socket on loopback takes the kernel's receive time of
every TLS application-data record's first packet to and from the target's port (the request,
then the answer, on a TLS 1.2 connection: the handshake's records are of another type), per client
port. Neither prober's user space, nor nginx's, is in that time.

It needs ``CAP_NET_RAW`` (root here); :meth:`Wire.start` returns None without it, and the benchmark
keeps nginx's log as its truth.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterator

from monitor.probes._stream import STAMP_SPACE, ask_receive_times, receive_time

_ETH_P_ALL = 0x0003
_PACKET_HOST = 0  # a packet as the receiving end got it (loopback shows each packet twice: sent, received)
_APPLICATION_DATA = 0x17  # TLS record type
_SLACK = 0.05  # s: how much later than nginx's logged end (a cached clock) the answer may have left


class Wire:
    """Loopback packets to and from one TCP port, captured on a thread until :meth:`stop`."""

    def __init__(self, sock: socket.socket, port: int):
        self._sock = sock
        self._port = port
        self._requests: defaultdict[int, list[float]] = defaultdict(list)  # client port -> request times
        self._answers: defaultdict[int, list[float]] = defaultdict(list)  # client port -> answer times
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._capture, name="wire", daemon=True)

    @classmethod
    def start(cls, port: int) -> Wire | None:
        try:
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(_ETH_P_ALL))
        except (OSError, AttributeError):  # no CAP_NET_RAW, or not Linux
            return None
        sock.bind(("lo", 0))
        if not ask_receive_times(sock):
            sock.close()
            return None
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
        sock.settimeout(0.2)
        wire = cls(sock, port)
        wire._thread.start()
        return wire

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()
        self._sock.close()

    def _capture(self) -> None:
        while not self._stopped.is_set():
            try:
                frame, ancillary, _, address = self._sock.recvmsg(128, STAMP_SPACE)
            except TimeoutError:
                continue
            when = receive_time(ancillary)
            if address[2] == _PACKET_HOST and when is not None:
                self._note(frame, when)

    def _note(self, frame: bytes, when: float) -> None:
        ip = frame[14:]  # after loopback's Ethernet header
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != socket.IPPROTO_TCP:
            return
        tcp = ip[(ip[0] & 0x0F) * 4:]
        if len(tcp) < 20:
            return
        source, destination = struct.unpack("!HH", tcp[:4])
        payload = tcp[(tcp[12] >> 4) * 4:]
        if not payload or payload[0] != _APPLICATION_DATA:
            return
        if destination == self._port:
            self._requests[source].append(when)
        elif source == self._port:
            self._answers[destination].append(when)

    def held(self, client_port: int, ended: float, within: float) -> float | None:
        """Seconds from the request on ``client_port`` to its answer's first packet, for the exchange nginx logged
        as ended at ``ended`` (unix time): the last request before then, no more than ``within`` s earlier, and the
        first answer after it. None when a packet of it was not captured."""
        requests = self._requests.get(client_port, [])
        k = bisect_right(requests, ended + _SLACK)
        if not k or ended - requests[k - 1] > within:
            return None
        sent = requests[k - 1]
        answers = self._answers.get(client_port, [])
        j = bisect_right(answers, sent)
        later = requests[k] if k < len(requests) else float("inf")
        if j == len(answers) or answers[j] > later:
            return None
        return answers[j] - sent


@contextlib.contextmanager
def captured(port: int) -> Iterator[Wire | None]:
    """A :class:`Wire` on ``port`` for the block, or None where packets cannot be captured."""
    wire = Wire.start(port)
    try:
        yield wire
    finally:
        if wire is not None:
            wire.stop()
