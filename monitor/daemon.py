"""``monitor run``: the prober daemon — scheduler, metrics server and history store in one process, the probes
in that process or, with ``workers`` above 1, in worker processes it starts and restarts (monitor/workers/)."""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from monitor.config import Catalog, Settings
from monitor.domain import Incident
from monitor.httploop import LoopServer
from monitor.live import LiveIncidents
from monitor.localtime import format_datetime
from monitor.looplag import HISTOGRAM_INTERVAL, LoopLagMonitor
from monitor.metrics import Metrics, is_status_path, metrics_app
from monitor.ownlag import LoopBusy
from monitor.probes import ProbeContext
from monitor.result import ProbeResult
from monitor.scheduler import Job, Prober, spread
from monitor.selfcheck import SelfCheck
from monitor.store import ResultWriter, Store, location, open_store, retention_cutoff
from monitor.store.central import LazyStore
from monitor.store.spool import Spool, StoreAndForward
from monitor.store.writer import ResultSink
from monitor.workcalendar import PeakHours
from monitor.workers import usable_cores
from monitor.workers.pool import WorkerPool

if TYPE_CHECKING:
    from monitor.statuspage.aside import PageProcess

log = logging.getLogger(__name__)
SWITCH_INTERVAL = 0.0005
"""Seconds a helper thread (the store writer, the /metrics exposition, the status page's) may hold the GIL
while the probes' event loop waits for it; Python's default is 5 ms, longer than the own delay a phase may
carry (monitor/ownlag.py)."""
T = TypeVar("T")
PRUNE_EVERY = 3600.0  # seconds between retention prunes
INCIDENTS_EVERY = 15.0  # seconds between recomputations of open incidents (or the shortest interval)
EVIDENCE_EVERY = 3600.0  # seconds between saves of the recent weeks' incidents and complaint verdicts
SAVE_AT_EXIT = 30.0  # seconds a stopping prober waits for its central store to take the evidence
_saving = threading.Lock()  # one save at a time: the one at shutdown waits for an hourly one still running

IncidentKey = tuple[str, str, tuple[str, ...]]
"""An open incident across recomputations: platform, scope, locations (see :func:`_key`)."""


async def _prune_forever(store: Store, retention_days: int, rollup_retention_days: int = 400) -> None:
    from monitor.errors import StoreError

    while True:
        cutoff = retention_cutoff(time.time(), retention_days)
        try:
            await _off_loop(store.prune_rollups, retention_cutoff(time.time(), rollup_retention_days))
            removed = await _off_loop(store.prune, cutoff)
        except StoreError as exc:  # a central store may be away for a while: try again next time
            log.warning("results older than %d days not pruned: %s", retention_days, exc)
        else:
            if removed:
                log.info("pruned %d results older than %d days", removed, retention_days)
        await asyncio.sleep(PRUNE_EVERY)


NETWORK_TIMEOUTS = {"tcp_user_timeout": "15000", "keepalives_idle": "30", "keepalives_interval": "10",
                    "keepalives_count": "3"}
"""libpq settings a prober adds to its central store's URL unless the URL sets them: a connection whose data goes
unacknowledged for 15 s, or that stops answering keepalives, fails (and is replaced) instead of waiting out the
kernel's retransmissions (many minutes) while a province's link is down."""


def with_network_timeouts(url: str) -> str:
    """``url`` with :data:`NETWORK_TIMEOUTS` added where it does not set them itself."""
    from urllib.parse import parse_qsl, urlencode, urlsplit

    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    given = {name for name, _ in query}
    query += [(name, value) for name, value in NETWORK_TIMEOUTS.items() if name not in given]
    return parts._replace(query=urlencode(query)).geturl()


def _open_stores(settings: Settings, metrics: Metrics) -> tuple[Store, ResultSink, StoreAndForward | None]:
    """The store the daemon reads, where its writer writes, and the store-and-forward if the store is central.

    On a central store (monitor/store/spool.py) results go through a :class:`StoreAndForward` with a local
    spool (``spool`` setting), and the store is opened lazily: the daemon starts and spools while it is down.
    """
    if not location.is_url(settings.store):
        store = open_store(settings.store)
        return store, store, None
    given = str(location.parse(settings.store))
    url = with_network_timeouts(given)
    central = LazyStore(lambda: open_store(url), location.describe(given))
    # A write without an answer goes to the spool after at most half the shutdown grace, so the last batches
    # are on disk before a stopping prober gives up waiting for them.
    relay = StoreAndForward(central, Spool(settings.spool), write_timeout=min(5.0, settings.shutdown_grace / 2),
                            on_forwarded=metrics.store_forwarded.inc, on_failure=metrics.store_write_failures.inc)
    from monitor.errors import StoreError

    try:
        central.open()  # now, so a reachable store is migrated before the first batch; else at its next use
    except StoreError:
        pass  # logged by LazyStore; results are spooled meanwhile
    return central, relay.start(), relay


def _save_evidence(store: Store, settings: Settings, catalog: Catalog) -> None:
    """Store the incidents and complaint verdicts of this bulletin week and the last (what `monitor complaints
    list` and Grafana read; `monitor report` recomputes its own). A failure is logged, never fatal."""
    from monitor.assessment import save_recent_weeks
    from monitor.errors import StoreError

    with _saving:
        try:
            incidents, verdicts = save_recent_weeks(store, catalog, time.time(), settings.incidents,
                                                    settings.matching, settings.week_start)
        except StoreError as exc:
            log.warning("incidents and complaint verdicts not saved: %s", exc)
        except Exception:
            log.exception("incidents and complaint verdicts not saved")
        else:
            log.info("saved %d incidents and %d complaint verdicts of this bulletin week and the last",
                     incidents, verdicts)


async def _save_evidence_hourly(store: Store, settings: Settings, catalog: Catalog) -> None:
    while True:
        await asyncio.sleep(EVIDENCE_EVERY)
        await _off_loop(_save_evidence, store, settings, catalog)


async def _track_incidents(live: LiveIncidents, metrics: Metrics, platforms: list[str], every: float) -> None:
    was: dict[IncidentKey, Incident] = {}
    while True:
        await asyncio.sleep(every)
        incidents = await asyncio.to_thread(live.open)
        metrics.set_open_incidents(platforms, incidents)
        was = log_changes(was, incidents)


def _key(incident: Incident) -> IncidentKey:
    """What an open incident is across recomputations: platform, scope and locations (its kind may change, and its
    start moves when it outlasts what live detection keeps)."""
    return (incident.platform, incident.scope, tuple(incident.locations))


def _describe(incident: Incident) -> str:
    where = "platform-wide" if incident.scope == "platform" else f"at {', '.join(incident.locations)}"
    return f"{incident.platform} {incident.kind} ({where}) since {format_datetime(incident.start)}"


def log_changes(was: dict[IncidentKey, Incident], incidents: list[Incident]) -> dict[IncidentKey, Incident]:
    """Log the incidents that opened, changed kind or closed since the last recomputation; the new state."""
    now = {_key(i): i for i in incidents}
    for key, incident in now.items():
        before = was.get(key)
        if before is None:
            log.warning("incident opened: %s", _describe(incident))
        elif before.kind != incident.kind:
            log.warning("incident changed from %s to %s: %s", before.kind, incident.kind, _describe(incident))
    for key, incident in was.items():
        if key not in now:
            log.info("incident closed: %s", _describe(incident))
    return now


async def run_daemon(settings: Settings, catalog: Catalog,
                     announce: Callable[[str, list[Job]], None] | None = None) -> int:
    """Probe until SIGTERM/SIGINT; then stop scheduling, wait for probes in flight, flush, return 0."""
    stop = asyncio.Event()  # a signal during start-up stops the daemon as soon as it has started
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    metrics = Metrics()
    store, results_to, relay = _open_stores(settings, metrics)
    writer = ResultWriter(
        results_to, on_commit=lambda n, total: log.debug("stored batch of %d results (%d this run)", n, total)
    ).start()
    if relay is None:
        metrics.store_pending.set_function(lambda: writer.pending)
        metrics.store_spool_oldest_age.set(0)
    else:
        spooled = relay
        metrics.store_pending.set_function(lambda: writer.pending + spooled.pending)
        metrics.store_spool_oldest_age.set_function(spooled.oldest_age)
    monitored = [p.id for p in catalog.platforms if p.monitored]
    for platform in monitored:
        metrics.register_platform(platform)
    server, computing = _http_server(metrics, settings, catalog)
    port = await server.start(settings.listen_address, settings.listen_port)
    jobs = spread((platform.id, check) for platform, check in catalog.checks())
    loop_lag = LoopLagMonitor(settings.loop_lag_threshold, interval=HISTOGRAM_INTERVAL,
                              observe=metrics.loop_lag.observe)
    live = LiveIncidents(catalog, settings.incidents)

    def sink(result: ProbeResult) -> None:
        writer.submit(result)
        live.add(result)

    metrics.track_peak_hours(PeakHours.parse(settings.peak_hours))
    ctx = ProbeContext(location=settings.location, late=LoopBusy().install(asyncio.get_running_loop()).late)
    self_check = None
    if settings.self_check is not None:
        self_check = SelfCheck(settings.self_check, ctx,
                               on_verdict=lambda ok: metrics.self_check_ok.labels(settings.location).set(
                                   1 if ok else 0))
    workers = settings.workers or usable_cores()
    prober: Prober | WorkerPool
    if workers > 1:  # the same plan run by worker processes; their results come back to this sink
        prober = WorkerPool(jobs, workers, settings, metrics, sink)
    else:
        prober = Prober(jobs, ctx, metrics, sink, max_concurrency=settings.max_concurrency, loop_lag=loop_lag,
                        self_check=self_check)
    address = f"http://{_host(settings.listen_address)}:{port}/metrics"
    if announce:
        announce(address, jobs)
    log.info("serving metrics at %s; probing %d checks from location %s", address, len(jobs), settings.location)
    if settings.status_page.enabled:
        log.info("status page at %s", address.removesuffix("/metrics") + "/status")
    # Everything built so far lives as long as the process: out of the cyclic collector's sight, so its
    # full collections stop scanning it (35 ms with 1,000 checks, a stall inside every probe in flight).
    gc.freeze()
    sys.setswitchinterval(SWITCH_INTERVAL)
    prober.start()
    pruner = loop.create_task(_prune_forever(store, settings.retention_days, settings.rollup_retention_days))
    every = min([INCIDENTS_EVERY, *(job.check.interval for job in jobs)])
    tracker = loop.create_task(_track_incidents(live, metrics, monitored, every))
    saver = loop.create_task(_save_evidence_hourly(store, settings, catalog))
    try:
        await stop.wait()
    finally:
        log.info("stopping: waiting up to %gs for probes in flight", settings.shutdown_grace)
        cancelled = await prober.stop(settings.shutdown_grace)
        if cancelled:
            log.warning("cancelled %d probes still running after %gs", cancelled, settings.shutdown_grace)
        pruner.cancel()
        tracker.cancel()
        saver.cancel()
        flushed = await asyncio.to_thread(writer.close, settings.shutdown_grace)
        if not flushed:
            log.error("%d results could not be written before exit", writer.pending)
        if relay is None:
            await _off_loop(_save_evidence, store, settings, catalog)  # with every result flushed
        elif relay.pending:
            # The central store is away (it may hang, and exit must not): the next start saves instead.
            log.warning("incidents and complaint verdicts not saved at exit: the central store is unavailable")
        else:
            try:
                await asyncio.wait_for(_off_loop(_save_evidence, store, settings, catalog), SAVE_AT_EXIT)
            except TimeoutError:
                log.warning("incidents and complaint verdicts not saved at exit: the central store did not answer "
                            "within %gs", SAVE_AT_EXIT)
        if relay is not None:
            await asyncio.to_thread(relay.close, settings.shutdown_grace)  # the spool stays for the next start
        server.close()
        if computing is not None:
            computing.close()
        _close(store, settings.shutdown_grace if relay is not None else None)
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    if relay is None:
        log.info("stopped; %d results stored this run", writer.committed)
    else:
        log.info("stopped; %d results stored this run (%d forwarded from the spool, %d left in it)",
                 writer.committed, relay.forwarded, relay.pending)
    return 0


async def _off_loop(work: Callable[..., T], *args: object) -> T:
    """``work(*args)`` on a daemon thread of its own, awaited: like ``asyncio.to_thread``, but a call that hangs
    on a central store (a frozen server, a lock) cannot keep the process from exiting, as the default executor's
    threads would (they are joined at exit)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()

    def settle(outcome: Callable[[], None]) -> None:
        if not done.done():
            outcome()

    def run() -> None:
        try:
            value = work(*args)
        except BaseException as exc:
            answer = functools.partial(settle, functools.partial(done.set_exception, exc))
        else:
            answer = functools.partial(settle, functools.partial(done.set_result, value))
        try:
            loop.call_soon_threadsafe(answer)
        except RuntimeError:  # the loop is closed: nobody waits any more
            pass

    threading.Thread(target=run, name=f"monitor-{getattr(work, '__name__', 'work')}", daemon=True).start()
    return await done


def _close(store: Store, timeout: float | None) -> None:
    """Close ``store``; with ``timeout``, give up waiting after that many seconds (a central store may hang, and a
    stopping prober must still exit: the thread is a daemon one, so nothing waits for it at exit)."""
    if timeout is None:
        store.close()
        return
    closing = threading.Thread(target=store.close, name="monitor-store-close", daemon=True)
    closing.start()
    closing.join(timeout)
    if closing.is_alive():
        log.warning("the central store did not close within %gs; exiting without waiting for it", timeout)


def _http_server(metrics: Metrics, settings: Settings, catalog: Catalog) -> tuple[LoopServer, PageProcess | None]:
    """``/metrics``, and the status page over the daemon's store unless switched off (README "Status page"), served
    from the event loop: the cached page is answered on it, the rest (the exposition, a page not computed yet) on
    the server's threads. The page is computed in a process of its own, at most once per ``status_page.refresh``.
    """
    if not settings.status_page.enabled:
        return LoopServer(metrics_app(metrics), inline=lambda _: False), None
    from monitor.statuspage import StatusPage, status_app
    from monitor.statuspage.aside import PageProcess

    where = settings.store
    if location.is_url(where):
        where = with_network_timeouts(str(location.parse(where)))
    computing = PageProcess(where, settings, catalog)
    computing.start()  # before the first probe: its imports never overlap probing
    page = StatusPage(computing, settings.status_page.refresh)
    return LoopServer(metrics_app(metrics, status_app(page)),
                      inline=lambda environ: page.ready and is_status_path(environ["PATH_INFO"])), computing


def _host(address: str) -> str:
    return f"[{address}]" if ":" in address else address
