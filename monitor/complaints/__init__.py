"""PAKN complaints: import an export (``importer``), scrub personal data (``scrub``), classify (``classify``).

``text`` folds Vietnamese for comparison; what a complaint and its classification are is
:class:`monitor.domain.Complaint` and :class:`monitor.domain.Classification`.
"""
