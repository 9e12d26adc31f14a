"""Make Grafana agree with us, through grafana-client: push the dashboards, annotate the evidence.

Endpoints used: ``GET/POST /api/folders``, ``POST /api/dashboards/db``,
``GET /api/annotations?tags=…&type=annotation``, ``POST /api/annotations``,
``PUT /api/annotations/:id``. Errors of grafana-client are mapped to :class:`GrafanaError`
with a message that says what to do; the token never appears in one.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote

from grafana_client.client import (
    GrafanaClientError,
    GrafanaException,
    GrafanaServerError,
    GrafanaTimeoutError,
    GrafanaUnauthorizedError,
)

from monitor.config import Catalog
from monitor.config.grafana import DEFAULT_FOLDER
from monitor.errors import GrafanaError
from monitor.grafana.annotations import Annotation, Evidence, Json, desired
from monitor.grafana.client import DEFAULT_MESSAGE

log = logging.getLogger(__name__)
FOLDER_UID = "nen-tang-so-dang"


class _Folders(Protocol):
    def get_all_folders(self) -> list[Json]: ...
    def create_folder(self, title: str, uid: str | None = None) -> Json: ...


class _Dashboards(Protocol):
    def update_dashboard(self, dashboard: Json) -> Json: ...


class _Annotations(Protocol):
    def find_annotations(self, *, ann_type: str | None = None, tags: list[str] | None = None,
                         limit: int | None = None) -> list[Json] | None: ...
    def add_annotation(self, *, time_from: int | None = None, time_to: int | None = None,
                       tags: list[str] | None = None, text: str | None = None) -> Json: ...
    def update_annotation(self, annotations_id: int, *, time_from: int | None = None, time_to: int | None = None,
                          tags: list[str] | None = None, text: str | None = None) -> Json: ...


class GrafanaClient(Protocol):
    """The part of grafana-client's ``GrafanaApi`` used here, with the types its (unannotated) methods take and
    return: Grafana's JSON, decoded."""

    @property
    def folder(self) -> _Folders: ...
    @property
    def dashboard(self) -> _Dashboards: ...
    @property
    def annotations(self) -> _Annotations: ...


@dataclass(frozen=True)
class Pushed:
    """What :func:`push_dashboards` did."""

    folder_uid: str
    folder_created: bool
    dashboards: tuple[str, ...]  # uids, in the order pushed


@dataclass(frozen=True)
class AnnotateCounts:
    """What :func:`annotate` did: annotations created, updated, and already right."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0


@contextlib.contextmanager
def _mapped(what: str) -> Iterator[None]:
    """Turn grafana-client's exceptions into a :class:`GrafanaError` that says ``what`` failed and why."""
    try:
        yield
    except GrafanaUnauthorizedError:
        raise GrafanaError(f"{what}: Grafana answered 401 Unauthorized: the token is invalid or expired "
                           "(GRAFANA_TOKEN / GRAFANA_TOKEN_FILE)") from None
    except GrafanaClientError as exc:
        if exc.status_code == 403:
            raise GrafanaError(f"{what}: Grafana answered 403 Forbidden: the token's service account needs "
                               "the Editor role (dashboards, folders, annotations)") from None
        raise GrafanaError(f"{what}: Grafana answered {exc.status_code}: {exc.message}") from exc
    except GrafanaServerError as exc:
        raise GrafanaError(f"{what}: Grafana failed: {exc.message}") from exc
    except GrafanaTimeoutError as exc:
        raise GrafanaError(f"{what}: Grafana did not answer in time") from exc
    except GrafanaException as exc:
        raise GrafanaError(f"{what}: cannot reach Grafana: {exc.message}") from exc
    except OSError as exc:  # connection refused, DNS, TLS: grafana-client lets niquests' errors (OSError) through
        raise GrafanaError(f"{what}: cannot reach Grafana: {exc}") from exc


# --- dashboards -----------------------------------------------------------------------------

def ensure_folder(client: GrafanaClient, title: str = DEFAULT_FOLDER, uid: str = FOLDER_UID) -> tuple[str, bool]:
    """The uid of the folder with this uid (else this title), created when neither exists; and whether it was."""
    with _mapped("listing folders"):
        folders = client.folder.get_all_folders()
    for match in ([f for f in folders if f.get("uid") == uid], [f for f in folders if f.get("title") == title]):
        if match:
            return match[0]["uid"], False
    with _mapped(f"creating folder {title!r}"):
        created = client.folder.create_folder(title, uid=uid)
    log.info("created Grafana folder %s (%s)", title, created.get("uid", uid))
    return created.get("uid", uid), True


def push_dashboards(client: GrafanaClient, dashboards: Mapping[str, Json], folder_title: str = DEFAULT_FOLDER,
                    message: str = DEFAULT_MESSAGE, folder_uid: str = FOLDER_UID) -> Pushed:
    """Create the folder if missing, then save every dashboard into it (overwriting, with a version message)."""
    folder, created = ensure_folder(client, folder_title, folder_uid)
    pushed = []
    for uid, dashboard in sorted(dashboards.items()):
        body = {"dashboard": {**dashboard, "id": None}, "folderUid": folder, "overwrite": True, "message": message}
        with _mapped(f"saving dashboard {uid}"):
            client.dashboard.update_dashboard(body)
        pushed.append(uid)
    return Pushed(folder, created, tuple(pushed))


# --- annotations ----------------------------------------------------------------------------

def _stored(client: GrafanaClient, key: str) -> list[Json]:
    with _mapped(f"looking up annotation {key}"):
        # grafana-client puts tags into the query string as they are: escape ids with spaces, & or #
        found = client.annotations.find_annotations(tags=[quote(key, safe="")], ann_type="annotation", limit=100)
    return [a for a in found or [] if key in (a.get("tags") or ())]


def sync_annotation(client: GrafanaClient, annotation: Annotation) -> str:
    """Create, update or leave one annotation; returns ``created``, ``updated`` or ``unchanged``."""
    stored = _stored(client, annotation.key)
    if not stored:
        with _mapped(f"creating annotation {annotation.key}"):
            client.annotations.add_annotation(time_from=annotation.time, time_to=annotation.time_end,
                                              tags=list(annotation.tags), text=annotation.text)
        return "created"
    if any(annotation.same_as(a) for a in stored):
        return "unchanged"
    with _mapped(f"updating annotation {annotation.key}"):
        client.annotations.update_annotation(stored[0]["id"], time_from=annotation.time, time_to=annotation.time_end,
                                             tags=list(annotation.tags), text=annotation.text)
    return "updated"


def annotate(client: GrafanaClient, evidence: Evidence, catalog: Catalog, now: float | None = None,
             location_names: Mapping[str, str] | None = None) -> AnnotateCounts:
    """Incidents as regions and complaints as points (see :mod:`monitor.grafana.annotations`), idempotently.

    Each annotation is found by its id tag: created when missing, updated when it differs,
    left alone when identical, so running twice creates nothing new.
    """
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    for annotation in desired(evidence, catalog, time.time() if now is None else now, location_names):
        counts[sync_annotation(client, annotation)] += 1
    return AnnotateCounts(**counts)
