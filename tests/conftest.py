"""Shared fixtures: a background loop for servers, a test PKI, scripted HTTP(S) servers."""

from __future__ import annotations

import pytest

from tests.servers import LoopThread, Pki, scripted, start_server


@pytest.fixture(scope="session")
def loop_thread():
    thread = LoopThread()
    yield thread
    thread.stop()


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    return Pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def http_port(loop_thread):
    """A plain HTTP scripted server."""
    return loop_thread.run(start_server(scripted)).port


@pytest.fixture(scope="session")
def https_port(loop_thread, pki):
    """An HTTPS scripted server with a certificate for gqthc.dcs.vn from the trusted test CA."""
    return loop_thread.run(start_server(scripted, pki.server_context(pki.good))).port


@pytest.fixture(scope="session")
def postgres(tmp_path_factory):
    """A real PostgreSQL server for the session (tests/postgres.py); skipped with a reason where none is installed."""
    from tests import postgres as pg

    server = pg.start(tmp_path_factory.mktemp("postgres"))
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres) -> str:
    """A new empty PostgreSQL database for one test: its URL."""
    return postgres.database()
