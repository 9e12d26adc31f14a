"""``python -m monitor.workers FD``: one worker process of ``monitor run --workers N`` (monitor/workers/child.py)."""

from __future__ import annotations

import sys

from monitor.workers.child import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
