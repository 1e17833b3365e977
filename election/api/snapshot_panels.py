"""The original dashboard's panels, as files of every snapshot: the API's own answers, computed
by its own views in process, byte for byte what `GET /api/...` would answer at that moment.

They live here, not in election/results/snapshots/, because the answers are shaped by the views
(election/api sits above election/results); the `snapshots` command, above both, hands this
source to the writer with the others.

    panels/summary.json                       /api/results/summary?source=votes (the route comparison)
    panels/latest-votes.json                  /api/votes/latest?limit=5
    panels/votes.json                         /api/votes/?page_size=50, newest page, next/previous null
    panels/<source>/<papeleta>/top-departamentos.json   ?papeleta=&source=&limit=3
    panels/<source>/<papeleta>/top-sedes.json           ?papeleta=&source=&limit=5
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.test import RequestFactory
from django.urls import resolve, reverse

from election.results.snapshots.counts import SOURCES, papeleta_codes
from election.results.snapshots.files import SnapshotContext, SnapshotFile
from election.results.snapshots.manifest import json_bytes

logger = logging.getLogger(__name__)
TOP_DEPARTAMENTOS, TOP_SEDES, LATEST, VOTES_PAGE = 3, 5, 5, 50


class PanelUnavailable(RuntimeError):
    """A view answered something other than 200."""


def _host() -> str:
    """A name the views' absolute URLs may use: the first host ALLOWED_HOSTS names outright."""
    for host in settings.ALLOWED_HOSTS:
        if host != "*" and not host.startswith("."):
            return host
    return "localhost"


def api_answer(name: str, params: dict[str, Any]) -> bytes:
    """The body `GET` of the named API route answers with `params`, as JSON."""
    path = reverse(name)
    request = RequestFactory().get(path, params, HTTP_HOST=_host(), HTTP_ACCEPT="application/json")
    response = resolve(path).func(request)
    response.render()
    if response.status_code != 200:
        raise PanelUnavailable(f"{path} {params} answered {response.status_code}: {response.content[:200]!r}")
    return bytes(response.content)


def _file(path: str, body: bytes) -> SnapshotFile:
    return SnapshotFile(path, lambda out: out.write(body))


def panel_files(context: SnapshotContext) -> Iterator[SnapshotFile]:
    yield _file("panels/summary.json", api_answer("api-summary", {"source": "votes"}))
    try:  # the list is Redis's: while Redis is away the snapshot goes without it, not without results
        yield _file("panels/latest-votes.json", api_answer("api-votes-latest", {"limit": LATEST}))
    except PanelUnavailable as exc:
        logger.warning("snapshot without panels/latest-votes.json", extra={"error": str(exc)})
    page = json.loads(api_answer("api-votes", {"page_size": VOTES_PAGE}))
    yield _file("panels/votes.json", json_bytes({**page, "next": None, "previous": None}))
    for source in SOURCES:
        for papeleta in papeleta_codes():
            query = {"source": source, "papeleta": papeleta}
            prefix = f"panels/{source}/{papeleta}"
            top = api_answer("api-top-departamentos", query | {"limit": TOP_DEPARTAMENTOS})
            yield _file(f"{prefix}/top-departamentos.json", top)
            yield _file(f"{prefix}/top-sedes.json", api_answer("api-top-sedes", query | {"limit": TOP_SEDES}))
