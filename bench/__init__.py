"""The benchmark: the prober beside blackbox_exporter, and the monitor at scale.

``python -m bench``; docs/performance.md.
"""
