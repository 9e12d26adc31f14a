"""The benchmark's instruments: do they measure what they claim? (Its figures are never asserted here.)"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bench.model import Budget, Figure
from bench.probers import histogram_quantile, run_blackbox, run_ours
from bench.probing import errors_ms, quantile, shortfall
from bench.targets import nginx_target

DELAY = 0.05


def test_a_budget_holds_only_when_every_bound_it_names_holds():
    both = Budget("<=", limit=2.0, factor=1.0, offset=1.0)
    assert both.met(1.5, 1.0) is True
    assert both.met(1.5, 0.2) is False  # within 2 ms, but more than 1 ms worse than the peer
    assert both.met(2.5, 5.0) is False  # better than the peer, over the absolute limit
    assert both.met(None, 1.0) is None and Budget("<=", factor=1.5).met(1.0, None) is None
    assert Budget(">=", limit=300).met(310, None) is True
    assert both.text("ms") == "<= 2 ms and <= peer + 1 ms"
    assert Figure("cost", "x", "ms", 3.0, 2.0, Budget("<=", factor=1.5)).met is True


def test_histogram_quantile_interpolates_inside_the_bucket_like_prometheus():
    cumulative = {0.1: 50.0, 0.2: 90.0, 0.5: 100.0, math.inf: 100.0}
    assert histogram_quantile(0.5, cumulative) == pytest.approx(0.1)
    assert histogram_quantile(0.7, cumulative) == pytest.approx(0.15)
    assert histogram_quantile(0.99, cumulative) == pytest.approx(0.47)
    assert histogram_quantile(0.5, {0.1: 0.0, math.inf: 0.0}) is None


def test_nearest_rank_quantile():
    assert quantile(list(range(1, 101)), 0.99) == 99 and quantile([3.0], 0.5) == 3.0 and quantile([], 0.5) is None


def test_a_rate_is_sustained_only_while_the_prober_keeps_its_evidence():
    """More than 5 % of results flagged unreliable: the prober kept up, but threw away too much to count."""
    from bench.probers import Run

    def run(flagged: int) -> Run:
        done = Run("ours", rate=10, window=10, lag_p99=0.01, unreliable=flagged)
        for _ in range(100):
            done.success(DELAY + 0.0005, DELAY)
        return done

    assert shortfall(run(5)) is None
    assert shortfall(run(6)) == "flagged unreliable: 6 of 100 results"


def _may_capture() -> bool:
    """Whether this process holds CAP_NET_RAW (bit 13 of its effective capabilities), which packet sockets need."""
    status = Path("/proc/self/status").read_text()
    effective = next(line.split()[1] for line in status.splitlines() if line.startswith("CapEff:"))
    return bool(int(effective, 16) >> 13 & 1)


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    with nginx_target(tmp_path_factory.mktemp("nginx"), DELAY) as target:
        yield target


@pytest.mark.parametrize("run", [run_ours, run_blackbox], ids=["ours", "blackbox_exporter"])
@pytest.mark.slow  # nginx and blackbox_exporter, probed for seconds
def test_each_prober_reports_the_injected_delay_of_every_probe_in_the_window(tmp_path, target, run):
    result = run(tmp_path / "run", target.delay_url, target.ca_file, rate=5, warmup=2.5, window=3.0, cpu=None,
                 stamps=target.stamps)
    expected = 5 * result.window
    assert expected - 2 <= result.completed <= expected + 2 and result.failures == 0
    # Each success is matched with how long the target held that very request: on the wire (the kernel's times of
    # the request's and the answer's packets) where packets may be captured (CAP_NET_RAW), else by nginx's own
    # record; the delay give or take nginx's millisecond clock. The errors are taken against it.
    assert all(held is not None and DELAY - 0.002 <= held <= DELAY + 0.02 for held in result.held), result.held
    on_wire = [held for held in result.held if held is not None and abs(held * 1000 - round(held * 1000)) > 1e-6]
    assert (target.stamps.wire is not None) == _may_capture()
    assert len(on_wire) == (len(result.held) if target.stamps.wire is not None else 0), result.held
    pairs = zip(result.processing, result.held, strict=True)
    assert errors_ms(result) == [(seconds - held) * 1000 for seconds, held in pairs]
    # The delay measured: not ~0, not doubled. nginx's timers tick in milliseconds of its cached clock, so the
    # target itself may answer a millisecond or two early.
    assert all(-3 < error < 40 for error in errors_ms(result)), errors_ms(result)
    assert result.cpu > 0 and result.peak_rss_mb > 0
    if run is run_ours:
        assert result.lag_p99 is not None and result.skipped == 0
    # Whether the run met the capacity budgets (error p99 under 5 ms, scheduler lag p99 under 100 ms) is the
    # benchmark's figure, not asserted here: a busy machine misses them (lag p99 224 ms seen on a shared CI
    # core). What would make the instrument wrong (missing, failed or skipped probes) is asserted above.
    assert shortfall(result) is None or shortfall(result).startswith(
        ("error p99", "scheduler lag p99", "flagged unreliable"))


@pytest.mark.slow  # nginx and blackbox_exporter, probed for seconds
def test_the_fast_target_answers_at_once_over_tls_and_plain_http_and_the_delayed_one_after_the_delay(tmp_path, target):
    fast = run_ours(tmp_path / "fast", target.url, target.ca_file, rate=5, warmup=2.5, window=2.0, cpu=None)
    assert fast.completed and max(fast.processing) < DELAY / 2
    plain = run_ours(tmp_path / "plain", target.plain_url, target.ca_file, rate=5, warmup=2.5, window=2.0, cpu=None)
    assert target.plain_url.startswith("http://") and plain.processing and not plain.failures
    assert max(plain.processing) < DELAY / 2
