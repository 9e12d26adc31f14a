"""``python -m monitor.workers FD``: one worker process of ``monitor run --workers N`` (monitor/workers/child.py)."""

from __future__ import annotations

import signal
import sys

# Before the imports that take a moment: Ctrl-C reaches the whole process group, and the daemon stops us itself.
signal.signal(signal.SIGINT, signal.SIG_IGN)

from monitor.workers.child import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
