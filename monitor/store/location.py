"""Where a history store is: a SQLite file path or a PostgreSQL URL (pure; nothing here opens anything).

``postgresql://user:secret@host:5432/monitor`` (or ``postgres://…``) names a PostgreSQL database; anything else is a
path to a SQLite file. A URL is never taken for a path, so no ``postgresql:`` directory is ever created. Passwords
never leave this module unredacted: :func:`describe` is what messages, logs and the banner show.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import SplitResult, urlsplit

_SCHEMES = ("postgresql", "postgres")

StoreLocation = Path | str
"""A store's location as settings hold it: a :class:`~pathlib.Path` for SQLite, a ``str`` URL for PostgreSQL."""


def is_url(value: object) -> bool:
    """Whether ``value`` names a PostgreSQL database (a ``postgresql:`` or ``postgres:`` URL) rather than a file.

    A ``Path`` made from a URL (``Path("postgresql://h/db")`` reads ``postgresql:/h/db``) is still a URL.
    """
    text = str(value).strip()
    scheme, colon, _ = text.partition(":")
    return bool(colon) and scheme.lower() in _SCHEMES


def parse(value: str | Path) -> StoreLocation:
    """The location ``value`` names: the URL as text for PostgreSQL, else a path.

    Raises ``ValueError`` (with the password redacted) for a PostgreSQL URL without a host or a database name,
    or with characters a URL cannot hold.
    """
    if not is_url(value):
        return value if isinstance(value, Path) else Path(value)
    text = _normalise(value)
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise ValueError(f"{describe(text)} is not a valid PostgreSQL URL: "
                         "write postgresql://USER:PASSWORD@HOST:PORT/DATABASE") from None
    if not parts.hostname or not parts.path.strip("/"):
        raise ValueError(f"{describe(text)} is not a complete PostgreSQL URL: it needs a host and a database name, "
                         "as in postgresql://USER:PASSWORD@HOST:PORT/DATABASE")
    return text


def describe(location: object) -> str:
    """``location`` as it may be shown to anyone: a path as it is, a URL without its password (``***``)."""
    if not is_url(location):
        return str(location)
    text = _normalise(location)
    try:
        parts = urlsplit(text)
        password = parts.password
    except ValueError:
        return _without_userinfo(text)
    if not parts.netloc and "@" in text:  # "postgresql:/user:secret@host/db": no authority, the secret still there
        return _without_userinfo(text)
    redacted = _redact_query(parts)
    if password is None:
        return redacted.geturl()
    user, _, host = redacted.netloc.rpartition("@")
    name = user.split(":", 1)[0]
    return redacted._replace(netloc=f"{name}:***@{host}").geturl()


def endpoint(url: str) -> str:
    """``host:port`` of a PostgreSQL URL (port 5432 when not given), for messages saying what to check."""
    parts = urlsplit(url)
    try:
        port = parts.port or 5432
    except ValueError:
        port = 5432
    return f"{parts.hostname or 'localhost'}:{port}"


def _normalise(value: object) -> str:
    """A URL as libpq reads it: the scheme in lower case, and the ``//`` a ``Path`` collapsed given back."""
    scheme, _, rest = str(value).strip().partition(":")
    if isinstance(value, Path):
        rest = f"//{rest.lstrip('/')}"
    return f"{scheme.lower()}:{rest}"


def _redact_query(parts: SplitResult) -> SplitResult:
    """A ``password=`` query parameter (libpq accepts one) redacted too."""
    if "password=" not in parts.query.lower():
        return parts
    pairs = [(p.split("=", 1)[0] + "=***") if p.lower().startswith("password=") else p for p in parts.query.split("&")]
    return parts._replace(query="&".join(pairs))


def _without_userinfo(text: str) -> str:
    scheme, _, rest = text.partition(":")
    return f"{scheme}://***@{rest.rpartition('@')[2]}" if "@" in rest else text


def store_argument(text: str) -> StoreLocation:
    """``argparse`` type of ``--store``: a path or a PostgreSQL URL; a bad URL is a usage error whose message
    (unlike argparse's own) never repeats the password."""
    import argparse

    try:
        return parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
