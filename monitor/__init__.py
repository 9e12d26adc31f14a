"""Health monitor for the Party's shared digital platforms."""

__version__ = "0.1.0"
