"""Configuration: check definitions as data (``checks/*.yml``) and process settings."""

from monitor.config.loader import Catalog, load_catalog
from monitor.config.model import (
    Auth,
    Check,
    DnsCheck,
    HttpCheck,
    Platform,
    SecretRef,
    TcpCheck,
    TlsCheck,
    TlsOptions,
)
from monitor.config.settings import Settings

__all__ = [
    "Auth", "Catalog", "Check", "DnsCheck", "HttpCheck", "Platform", "SecretRef",
    "Settings", "TcpCheck", "TlsCheck", "TlsOptions", "load_catalog",
]
