"""The lab's own certificate authority and the server certificates of its platforms.

One CA (made with trustme) is written to ``<directory>/ca.pem``; the lab's checks
trust it through ``tls: {ca_file}``, so the probes verify certificates exactly as
they would in production. Each platform gets three server contexts, one per
:data:`monitor.lab.world.Certificate` a World may choose for a connection:

- ``good``: valid for the platform's names, expiring after a configurable number
  of days (a few days to play a certificate about to expire);
- ``expired``: the same names, ``notAfter`` in the past;
- ``wrong_host``: valid, but for another name.

Certificates are checked by the probes against the real clock (OpenSSL knows no
simulated time), so validity is set relative to now.
"""

from __future__ import annotations

import datetime as dt
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from monitor.lab.world import Certificate

try:
    import trustme
except ModuleNotFoundError as exc:  # the optional "lab" dependencies (pyproject.toml), absent from a prober's install
    # FileNotFoundError without a filename: `monitor` prints our message as its one line and exits 2.
    raise FileNotFoundError(
        f"the platform lab (monitor demo, lab, simulate) needs the 'lab' extra, which is not installed "
        f"(no module {exc.name}): pip install -c constraints.txt -e '.[lab]' in a checkout, "
        f"or pip install 'party-platform-monitor[lab]'") from None

# Server preference: HTTP/1.1 when the client offers both, HTTP/2 for clients that speak only h2
# (like nginx without `http2 on`). Measured here: a probe over HTTP/2 costs the prober twice the CPU
# of one over HTTP/1.1 (6.4 vs 3.4 ms, httpcore's h2 path), which decides whether a simulated week fits
# in 15 minutes on two cores. Checks with `http_version: "2"` still get HTTP/2.
ALPN = ["http/1.1", "h2"]
WRONG_HOST = "wrong-host.lab.invalid"  # a name no check ever asks for


@dataclass(frozen=True)
class PlatformCertificates:
    """The three server contexts of one platform."""

    good: ssl.SSLContext
    expired: ssl.SSLContext
    wrong_host: ssl.SSLContext

    def context(self, certificate: Certificate) -> ssl.SSLContext:
        """The server context presenting ``certificate``."""
        return {"good": self.good, "expired": self.expired, "wrong_host": self.wrong_host}[certificate]


class LabPki:
    """A local CA written to ``directory/ca.pem`` that issues the platforms' certificates.

    Issuing generates keys (CPU work): call it off the event loop, e.g. through
    ``asyncio.to_thread``.
    """

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.ca = trustme.CA(organization_name="Party platform lab")
        self.ca_file = directory / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        self._platforms: dict[str, PlatformCertificates] = {}

    def issue(self, platform: str, names: Sequence[str], valid_days: float = 365.0,
              now: dt.datetime | None = None) -> PlatformCertificates:
        """Issue the good, expired and wrong-host certificates of ``platform`` for ``names``."""
        if not names:
            raise ValueError(f"platform {platform!r}: a certificate needs at least one name")
        now = now or dt.datetime.now(dt.UTC)
        # Backdated a day so a client clock slightly behind ours still accepts it.
        not_before = now - dt.timedelta(days=1)
        not_after = now + dt.timedelta(days=valid_days)
        certificates = PlatformCertificates(
            good=_server_context(self.ca.issue_cert(*names, not_before=not_before, not_after=not_after)),
            expired=_server_context(self.ca.issue_cert(*names, not_before=now - dt.timedelta(days=90),
                                                       not_after=now - dt.timedelta(days=2))),
            wrong_host=_server_context(self.ca.issue_cert(WRONG_HOST, not_before=not_before,
                                                          not_after=now + dt.timedelta(days=365))),
        )
        self._platforms[platform] = certificates
        return certificates

    def context(self, platform: str, certificate: Certificate) -> ssl.SSLContext:
        """The server context of ``platform`` presenting ``certificate``."""
        return self._platforms[platform].context(certificate)

    def certificates(self, platform: str) -> PlatformCertificates:
        """Everything issued for ``platform``."""
        return self._platforms[platform]


def _server_context(cert: trustme.LeafCert) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    context.set_alpn_protocols(ALPN)
    return context
