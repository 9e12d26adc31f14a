"""deploy/nginx/ run for real: the shipped status-page configuration with a port, a prober and directories of
this machine (the benchmark's proxy in front of ``monitor run``, and tests/test_deploy_nginx.py)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.procs import free_port, pinned, stop, wait_listening

DEPLOY = Path(__file__).resolve().parent.parent / "deploy" / "nginx"


CONTROL = "/bench-control"
"""A path nginx answers itself (200, a body the size of the gzipped page), never asking the prober: the
benchmark's control, the same visitors' load on the machine without the page."""


CATCH_ALL = "    location / { return 404; }"


def configure(workdir: Path, prober_port: int, port: int) -> Path:
    """Write nginx.conf in ``workdir``, including the shipped files with their machine-specific lines replaced
    (and :data:`CONTROL` added)."""
    (workdir / "cache").mkdir(parents=True, exist_ok=True)
    proxy = workdir / "monitor-status-proxy.conf"
    proxy.write_text((DEPLOY / "monitor-status-proxy.conf").read_text(encoding="utf-8"), encoding="utf-8")
    site = (DEPLOY / "status-page.conf").read_text(encoding="utf-8")
    for shipped, here in (("/var/cache/nginx/monitor-status", str(workdir / "cache")),
                          ("server 127.0.0.1:9180;", f"server 127.0.0.1:{prober_port};"),
                          ("listen 80;", f"listen 127.0.0.1:{port} backlog=4096;"),
                          ("/etc/nginx/monitor-status-proxy.conf", str(proxy)),
                          (CATCH_ALL, f'    location = {CONTROL} {{ return 200 "{"x" * 2800}"; }}\n{CATCH_ALL}')):
        if shipped not in site:
            raise ValueError(f"deploy/nginx/status-page.conf no longer has {shipped!r}")
        site = site.replace(shipped, here)
    (workdir / "status-page.conf").write_text(site, encoding="utf-8")
    temp = workdir / "temp"
    conf = workdir / "nginx.conf"
    conf.write_text(
        f"daemon off; master_process off; worker_processes 1; pid {workdir}/nginx.pid;\n"
        f"error_log {workdir}/error.log warn;\nevents {{ worker_connections 4096; }}\n"
        f"http {{ access_log off; client_body_temp_path {temp}; proxy_temp_path {temp}; fastcgi_temp_path {temp};\n"
        f"uwsgi_temp_path {temp}; scgi_temp_path {temp}; include {workdir}/status-page.conf; }}\n", encoding="utf-8")
    return conf


@contextmanager
def status_proxy(workdir: Path, prober_port: int, cpu: int | None = None) -> Iterator[int]:
    """nginx publishing the status page of the prober at ``prober_port``; yields nginx's port."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = configure(workdir, prober_port, port)
    with open(workdir / "nginx.out", "w") as out:
        process = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(workdir), "-e", str(workdir / "error.log")],
                                   stdout=out, stderr=subprocess.STDOUT, preexec_fn=pinned(cpu))
    try:
        wait_listening(port, process)
        yield port
    finally:
        stop(process)
