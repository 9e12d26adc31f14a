"""Simulated time travels in the client's loopback source address.

In a simulated week many probes for different simulated instants are in flight
at once, so the lab cannot keep one "current time". Instead each probe connects
from ``127.128.0.0/9 + seconds since the lab's epoch`` (2**23 s, about 97 days),
and the lab reads the instant back from the peer address of the TCP connection
or UDP query. It needs no shared state, works across processes, and is decided
before TLS (so certificates can change with time) and for DNS alike. A peer
outside that network (e.g. 127.0.0.1) gets the lab's live clock.
"""

from __future__ import annotations

import ipaddress

SIM_NETWORK = ipaddress.IPv4Network("127.128.0.0/9")
SPAN = SIM_NETWORK.num_addresses  # seconds that can be encoded after the epoch


def source_for(at: float, epoch: float) -> str:
    """The source address that tells the lab the simulated instant ``at`` (1 s resolution)."""
    seconds = int(at - epoch)
    if not 0 <= seconds < SPAN:
        raise ValueError(f"simulated time {at} is outside the lab's span from its epoch {epoch}")
    return str(SIM_NETWORK.network_address + seconds)


def time_from(peer: str, epoch: float) -> float | None:
    """The simulated instant encoded in ``peer``, or None when it is not a simulation address."""
    try:
        address = ipaddress.IPv4Address(peer)
    except ValueError:
        return None
    if address not in SIM_NETWORK:
        return None
    return epoch + int(address) - int(SIM_NETWORK.network_address)
