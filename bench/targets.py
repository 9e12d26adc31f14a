"""The target every prober in the benchmark probes: nginx over TLS on loopback, pinned to its own CPU.

``/`` answers 200 "ok" at once (what a probe costs when the target costs nothing), also over plain HTTP
on a second port (what a probe costs without TLS: the split of a prober's cost between TLS and the rest);
``/delay`` sends its headers after a known delay (nginx's echo module, ``echo_sleep``),
to measure how far a prober's reported ``processing`` phase is from the truth. nginx may send them
a little late when it is busy, or a millisecond early (its timers tick in milliseconds of a cached
clock), so each ``/delay`` request tagged ``?probe=<tag>`` is logged with how long nginx itself held
it, from its first bytes read to its answer sent (``$request_time``, to the millisecond), and its
client port. What a prober's ``processing`` phase is compared with (:meth:`Stamps.held`) is that
request's time on the wire, from the request's arrival to the answer's (:mod:`bench.wire`), where
the benchmark may capture loopback packets; nginx's own time where not; never the nominal delay.
The certificate comes from a throwaway CA (trustme, ECDSA P-256) for 127.0.0.1.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import trustme

from bench.procs import free_port, pinned, stop, wait_listening
from bench.wire import Wire, captured

ECHO_MODULE = Path("/usr/lib/nginx/modules/ngx_http_echo_module.so")  # Debian: libnginx-mod-http-echo


@dataclass(frozen=True)
class Target:
    url: str  # answers at once
    plain_url: str  # the same over plain HTTP
    delay_url: str  # answers after ``delay`` seconds
    delay: float
    ca_file: Path
    pid: int
    stamps: Stamps  # how long the target held each tagged ``/delay`` request


_NGINX_CONF = """\
load_module {echo};
daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 16384; }}
http {{
    access_log off;
    log_format stamp '$arg_probe $msec $request_time $remote_port';
    client_body_temp_path {dir}/tmp; proxy_temp_path {dir}/tmp; fastcgi_temp_path {dir}/tmp;
    uwsgi_temp_path {dir}/tmp; scgi_temp_path {dir}/tmp;
    server {{
        listen 127.0.0.1:{plain_port} backlog=4096;
        keepalive_timeout 0;
        location = / {{ return 200 "ok\\n"; }}
    }}
    server {{
        listen 127.0.0.1:{port} ssl backlog=4096;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_session_cache off;
        ssl_session_tickets off;
        keepalive_timeout 0;
        default_type text/plain;
        location = / {{ return 200 "ok\\n"; }}
        location = /delay {{ access_log {dir}/stamps.log stamp; echo_sleep {delay}; echo "ok"; }}
    }}
}}
"""


def _pki(workdir: Path) -> tuple[Path, Path, Path]:
    """(CA file, certificate chain, key) for 127.0.0.1."""
    ca = trustme.CA(key_type=trustme.KeyType.ECDSA)
    cert = ca.issue_cert("127.0.0.1", "localhost", key_type=trustme.KeyType.ECDSA)
    paths = workdir / "ca.pem", workdir / "server.pem", workdir / "server.key"
    ca.cert_pem.write_to_path(str(paths[0]))
    cert.private_key_pem.write_to_path(str(paths[2]))
    paths[1].write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
    return paths


@contextmanager
def nginx_target(workdir: Path, delay: float = 0.05, cpu: int | None = None) -> Iterator[Target]:
    """nginx serving ``/`` and ``/delay`` over TLS on a free loopback port, for the duration of the block."""
    workdir = workdir / "nginx"
    (workdir / "tmp").mkdir(parents=True)
    ca_file, cert, key = _pki(workdir)
    port, plain_port = free_port(), free_port()
    conf = workdir / "nginx.conf"
    conf.write_text(_NGINX_CONF.format(echo=ECHO_MODULE, dir=workdir, port=port, plain_port=plain_port, cert=cert,
                                       key=key, delay=delay))
    with open(workdir / "nginx.out", "w") as out:
        command = ["nginx", "-c", str(conf), "-p", str(workdir), "-e", str(workdir / "nginx-error.log")]
        process = subprocess.Popen(command, preexec_fn=pinned(cpu), stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_listening(port, process)
        base = f"https://127.0.0.1:{port}/"
        with captured(port) as wire:
            yield Target(base, f"http://127.0.0.1:{plain_port}/", base + "delay", delay, ca_file, process.pid,
                         Stamps(workdir / "stamps.log", wire))
    finally:
        stop(process)


_WITHIN = 5.0  # s: a request nginx logged began at most this long before (probes time out long before)


@dataclass(frozen=True)
class Stamps:
    log: Path  # one line per ``/delay`` request: its tag, when it ended, how long nginx held it, its client port
    wire: Wire | None  # the packets, where they may be captured

    def held(self) -> dict[str, list[tuple[float, float]]]:
        """The ``/delay`` requests answered so far, by ``probe`` tag: (when each ended by nginx's clock, unix time;
        how long the target held it, s: on the wire when captured, else by nginx's log), in order. nginx writes each
        line as the request ends (no log buffer is configured)."""
        found: dict[str, list[tuple[float, float]]] = {}
        try:
            lines = self.log.read_text().splitlines()
        except FileNotFoundError:
            return found
        for line in lines:
            tag, ended, took, client_port = line.split()
            on_wire = self.wire.held(int(client_port), float(ended), _WITHIN) if self.wire is not None else None
            found.setdefault(tag, []).append((float(ended), float(took) if on_wire is None else on_wire))
        return found
