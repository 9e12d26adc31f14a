"""A fleet on this machine: one network namespace for the lab and one per province prober, on a bridge.

::

    root namespace: bridge pf<run>b  10.213.N.1/24   (central PostgreSQL, Prometheus listen here)
        ├── veth pf<run>h0 ─ pf<run>n0 in ppm-fleet-<run>-lab      10.213.N.2   (the platform lab)
        ├── veth pf<run>h1 ─ pf<run>n1 in ppm-fleet-<run>-hanoi    10.213.N.11  (a prober)
        └── ...

Every namespace has its loopback up and one veth into the bridge; all addresses share one /24, so
the connected route is all any of them needs (no default route: nothing leaves the machine). ``<run>``
is this process id in hex, so names are unique per test run, and :func:`remove_stale` deletes the
namespaces and links of runs whose process is gone (a crashed run leaves them behind). ``N`` comes
from the process id too, so two live runs do not share a subnet.

:meth:`Fleet.cut` takes a province's link down on the bridge side (its prober keeps its address and
routes but nothing gets through: connections time out), :meth:`Fleet.restore` brings it back.
Processes run inside a namespace with ``ip netns exec NAME …`` (:meth:`Fleet.exec_args`).

:func:`unavailable` says why no fleet can be made here (not root, no ``ip``, namespaces refused),
for ``pytest.skip``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field

PREFIX_NETNS = "ppm-fleet-"
PREFIX_LINK = "pf"
_LINK = re.compile(rf"^{PREFIX_LINK}([0-9a-f]+)[bhn]\d*$")
_NETNS = re.compile(rf"^{re.escape(PREFIX_NETNS)}([0-9a-f]+)-")


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=30)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def unavailable() -> str | None:
    """Why a fleet cannot be built here, or None when it can (probes by creating and deleting a namespace)."""
    if os.geteuid() != 0:
        return "network namespaces need root (ip netns add); run the fleet test as root"
    if shutil.which("ip") is None:
        return "no `ip` command (Debian: apt-get install iproute2)"
    probe = f"{PREFIX_NETNS}{os.getpid():x}-probe"
    done = _ip("netns", "add", probe, check=False)
    if done.returncode:
        return f"cannot create a network namespace: {done.stderr.strip()}"
    _ip("netns", "del", probe, check=False)
    return None


def remove_stale() -> list[str]:
    """Delete namespaces and links left by fleet runs whose process is gone; the names deleted."""
    removed: list[str] = []
    for line in _ip("netns", "list", check=False).stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        match = _NETNS.match(name)
        if match and not _alive(int(match.group(1), 16)):
            _ip("netns", "del", name, check=False)
            removed.append(name)
    for line in _ip("-o", "link", "show", check=False).stdout.splitlines():
        parts = line.split(":")
        if len(parts) < 2:
            continue
        name = parts[1].strip().split("@")[0]
        match = _LINK.match(name)
        if match and not _alive(int(match.group(1), 16)):
            _ip("link", "del", name, check=False)
            removed.append(name)
    return removed


@dataclass
class Fleet:
    """Namespaces ``lab`` and one per location on one bridge; :meth:`create` builds, :meth:`destroy` removes."""

    locations: tuple[str, ...]
    run: str = field(default_factory=lambda: f"{os.getpid():x}")
    subnet: int = field(default_factory=lambda: 20 + os.getpid() % 200)
    namespaces: dict[str, str] = field(default_factory=dict)   # role ("lab" or a location) -> netns name
    addresses: dict[str, str] = field(default_factory=dict)    # role -> its address
    host_links: dict[str, str] = field(default_factory=dict)   # role -> the bridge-side veth
    _created: list[tuple[str, str]] = field(default_factory=list)

    @property
    def bridge(self) -> str:
        return f"{PREFIX_LINK}{self.run}b"

    @property
    def central(self) -> str:
        """The bridge's address in the root namespace: where the central services listen."""
        return f"10.213.{self.subnet}.1"

    @property
    def network(self) -> str:
        return f"10.213.{self.subnet}.0/24"

    def create(self) -> Fleet:
        """Build the bridge, the namespaces and their links; on any failure, remove what was built."""
        remove_stale()
        try:
            _ip("link", "add", self.bridge, "type", "bridge")
            self._created.append(("link", self.bridge))
            _ip("addr", "add", f"{self.central}/24", "dev", self.bridge)
            _ip("link", "set", self.bridge, "up")
            for index, role in enumerate(("lab", *self.locations)):
                self._add(index, role, f"10.213.{self.subnet}.{2 if role == 'lab' else 10 + index}")
        except BaseException:
            self.destroy()
            raise
        return self

    def _add(self, index: int, role: str, address: str) -> None:
        namespace, host, inner = f"{PREFIX_NETNS}{self.run}-{role}", f"{PREFIX_LINK}{self.run}h{index}", \
            f"{PREFIX_LINK}{self.run}n{index}"
        _ip("netns", "add", namespace)
        self._created.append(("netns", namespace))
        _ip("link", "add", host, "type", "veth", "peer", "name", inner)
        self._created.append(("link", host))
        _ip("link", "set", inner, "netns", namespace)
        _ip("link", "set", host, "master", self.bridge)
        _ip("link", "set", host, "up")
        _ip("-n", namespace, "link", "set", "lo", "up")
        _ip("-n", namespace, "addr", "add", f"{address}/24", "dev", inner)
        _ip("-n", namespace, "link", "set", inner, "up")
        self.namespaces[role], self.addresses[role], self.host_links[role] = namespace, address, host

    def destroy(self) -> None:
        """Remove every namespace and link this fleet made (deleting a namespace deletes its veth pair)."""
        for kind, name in reversed(self._created):
            if kind == "netns":
                _ip("netns", "del", name, check=False)
            else:
                _ip("link", "del", name, check=False)
        self._created.clear()

    def exec_args(self, role: str, *command: str) -> list[str]:
        """``command`` run inside ``role``'s namespace."""
        return ["ip", "netns", "exec", self.namespaces[role], *command]

    def cut(self, location: str) -> None:
        """Take ``location``'s link down: its prober reaches neither the lab nor the central services."""
        _ip("link", "set", self.host_links[location], "down")

    def restore(self, location: str) -> None:
        _ip("link", "set", self.host_links[location], "up")

    def __enter__(self) -> Fleet:
        return self.create()

    def __exit__(self, *exc: object) -> None:
        self.destroy()
