"""PAKN complaints: import an export (``importer``), scrub personal data (``scrub``), classify (``classify``).

``model`` is the shared contract; ``text`` folds Vietnamese for comparison.
"""
