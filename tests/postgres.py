"""A real PostgreSQL server for the tests: ``initdb`` and ``pg_ctl`` in a temporary directory, on loopback.

One server per test session (:func:`start`), a fresh database per test (:meth:`PostgresServer.database`).
PostgreSQL refuses to run as root, so as root the cluster belongs to the ``postgres`` user (created by Debian's
package) and its programs run under ``runuser``. Where no PostgreSQL is installed, :func:`start` raises
``pytest.skip`` saying what to install (scripts/test installs Debian's ``postgresql``).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest


def _bin_dir() -> Path | None:
    """Debian keeps the server programs in /usr/lib/postgresql/N/bin; the newest one wins."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresServer:
    """A running cluster on 127.0.0.1:``port``; ``superuser`` owns it (no password: trust on loopback only)."""

    directory: Path
    port: int
    superuser: str
    bin_dir: Path
    _as_user: list[str] = field(default_factory=list)
    listen: tuple[str, ...] = ()  # addresses it listens on besides 127.0.0.1 (the fleet's bridge)

    def url(self, database: str = "postgres", host: str = "127.0.0.1") -> str:
        return f"postgresql://{self.superuser}@{host}:{self.port}/{database}"

    def run(self, *program: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run one of the server's programs as the cluster's owner."""
        command = [*self._as_user, str(self.bin_dir / program[0]), *program[1:]]
        return subprocess.run(command, capture_output=True, text=True, check=check, timeout=120)

    def sql(self, statement: str, database: str = "postgres") -> str:
        """Run one SQL statement with psql; its output, unaligned."""
        psql = shutil.which("psql") or str(self.bin_dir / "psql")
        done = subprocess.run([psql, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", self.url(database),
                               "-c", statement], capture_output=True, text=True, timeout=60)
        if done.returncode:
            raise RuntimeError(f"psql failed: {done.stderr.strip()}")
        return done.stdout.strip()

    def database(self, prefix: str = "test") -> str:
        """A new empty database; its URL."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        self.sql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Stop the server (fast shutdown: open sessions are ended); :meth:`start` brings it back on the same port."""
        self.run("pg_ctl", "-D", str(self.directory / "data"), "-m", "fast", "-w", "stop", check=False)

    def start(self) -> None:
        log = self.directory / "server.log"
        addresses = ",".join(("127.0.0.1", *self.listen))
        self.run("pg_ctl", "-D", str(self.directory / "data"), "-l", str(log), "-w", "-t", "60",
                 "-o", f"-p {self.port} -k {self.directory} -c listen_addresses={addresses}", "start")

    def is_up(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False


def start(directory: Path, listen: tuple[str, ...] = (), trust: tuple[str, ...] = (),
          settings: Mapping[str, str] | None = None) -> PostgresServer:
    """initdb a new cluster in ``directory`` and start it on a free loopback port.

    ``listen``: more addresses to listen on (e.g. a bridge for probers in network namespaces);
    ``trust``: networks (CIDR) whose clients connect without a password, besides loopback;
    ``settings``: more ``postgresql.conf`` settings (e.g. a benchmark's ``shared_buffers``).
    """
    bin_dir = _bin_dir()
    if bin_dir is None or not (bin_dir / "initdb").exists():
        pytest.skip("PostgreSQL is not installed (Debian: apt-get install postgresql; scripts/test does it)")
    as_user: list[str] = []
    superuser = pwd.getpwuid(os.getuid()).pw_name
    if os.geteuid() == 0:  # initdb refuses root: the cluster belongs to Debian's postgres user
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to own a PostgreSQL cluster")
        directory.mkdir(parents=True, exist_ok=True)
        for path in (directory, *directory.parents):
            if path == Path("/"):
                break
            mode = path.stat().st_mode
            if not mode & 0o001:  # the postgres user must be able to traverse to its cluster
                os.chmod(path, mode | 0o001)
        os.chown(directory, owner.pw_uid, owner.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
        superuser = "postgres"
    server = PostgresServer(directory, _free_port(), superuser, bin_dir, as_user, tuple(listen))
    server.run("initdb", "-D", str(directory / "data"), "-U", superuser, "-A", "trust", "-E", "UTF8",
               "--no-locale", "--no-sync")
    with open(directory / "data" / "postgresql.conf", "a", encoding="utf-8") as conf:
        # A throwaway cluster: no durability waits, small and fast.
        conf.write("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 200\n")
        conf.writelines(f"{name} = '{value}'\n" for name, value in (settings or {}).items())
    if trust:
        with open(directory / "data" / "pg_hba.conf", "a", encoding="utf-8") as hba:
            hba.writelines(f"host all all {network} trust\n" for network in trust)
    deadline = time.monotonic() + 30
    while True:
        try:
            server.start()
            break
        except subprocess.CalledProcessError:
            if time.monotonic() > deadline:
                raise
            server.port = _free_port()  # the port was taken between choosing and binding it
    return server
