"""``monitor lab`` on a namespace's address instead of 127.0.0.1, for the fleet test (tests/netns.py).

``python -m tests.netns_lab --host 10.213.N.2 --scenario FILE --week W --dir D`` is ``monitor lab
--speed 1`` with :class:`monitor.lab.lab.Lab`'s ``host`` set: the listeners and the DNS responder bind
that address and the ``checks.yml`` it writes points every check at it (``resolve``/``address``/
``server``), so probers in other namespaces reach the lab by its address with real SNI and certificates.
The live clock is the lab's own: a peer outside 127.128.0.0/9 (every prober here) gets
``week_start + (now - started)``, so a scenario event on day 0 at "00:02" starts 120 s after start-up.
Prints what ``monitor lab`` prints, ending with ``lab ready``; SIGTERM stops it and writes the truth.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import time
from pathlib import Path

from monitor.config import load_catalog
from monitor.lab.behaviour import ScenarioWorld
from monitor.lab.lab import Lab, certificate_days
from monitor.lab.scenario import load_scenario
from monitor.workcalendar import bulletin_week

CHECKS = Path(__file__).resolve().parent.parent / "checks"


async def serve(host: str, scenario: str, week: str, directory: Path) -> None:
    week_start, week_end = bulletin_week(week)
    catalog = load_catalog([CHECKS])
    world = ScenarioWorld(load_scenario(scenario), week_start, week_end, [p.id for p in catalog.platforms], seed=None)
    started = time.time()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    lab = Lab(catalog, world, directory, epoch=week_start, live_clock=lambda: week_start + time.time() - started,
              host=host, certificate_days=certificate_days(world.scenario, catalog))
    await lab.start()
    try:
        for line in [*lab.announcement(), f"started {started:.3f}", "lab ready"]:
            print(line, flush=True)
        await stop.wait()
    finally:
        await lab.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", required=True)
    parser.add_argument("--scenario", required=True)
    parser.add_argument("--week", required=True)
    parser.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.scenario, args.week, args.dir))


if __name__ == "__main__":
    main()
