"""SQL and markup in what a sede sends: inert everywhere, end to end through the real system.

In the sede (free text) it is stored verbatim through both routes and comes back from the API
as a JSON string (and escaped in the browsable API's HTML); in a catalogue name it is refused
with 400 on the name's field. The tables are all still there afterwards.
"""

from __future__ import annotations

import http.client
import json
import urllib.parse
from typing import Any

from django.db import connection

from election.models import Vote
from scripts.devservices import wait_until
from scripts.system import System
from tests.conftest import AUTHORIZATION, VOTE_TABLES
from tests.properties.strategies import SQL_AND_HTML

FIELD_VOTE = {"departamento": "Peten", "municipio": "Flores", "papeleta": "Blanca", "partido": "UNE"}


def request(port: int, method: str, path: str, body: Any = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Content-Type": "application/json", "Authorization": AUTHORIZATION}
        conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def tables() -> set[str]:
    return set(connection.introspection.table_names())


def test_sql_and_html_are_stored_verbatim_as_a_sede_and_refused_as_names(
    spawn: Any, service_env: dict[str, str], redis_client: Any
) -> None:
    system = System(spawn, service_env).start()
    before = tables()
    assert set(VOTE_TABLES) <= before
    ports = {"grpc": system.ports["gateway"], "redis": system.ports["publisher"]}

    sent: dict[str, str] = {}  # sede -> route
    for i, text in enumerate(SQL_AND_HTML):
        route = ("grpc", "redis")[i % 2]
        status, _, body = request(ports[route], "POST", "/votes", {**FIELD_VOTE, "sede": text})
        assert status in (201, 202), body
        assert json.loads(body)["vote"]["sede"] == text
        sent[text] = route
        for field in FIELD_VOTE:  # the same text as a catalogue name: refused on that field
            status, _, body = request(ports[route], "POST", "/votes", {**FIELD_VOTE, "sede": 7, field: text})
            assert status == 400 and field in json.loads(body)["errors"], (route, field, body)

    wait_until(lambda: Vote.objects.count() == len(SQL_AND_HTML), 60, "every vote stored")
    assert dict(Vote.objects.values_list("sede", "route")) == sent
    assert tables() == before

    api = system.ports["api"]
    for text in SQL_AND_HTML:
        query = urllib.parse.urlencode({"sede": text, "departamento": "Peten", "municipio": "Flores"})
        status, headers, body = request(api, "GET", f"/api/votes/?{query}")
        assert status == 200 and headers["content-type"].startswith("application/json")
        assert headers["x-content-type-options"] == "nosniff"  # a browser never sniffs it as HTML
        assert [vote["sede"] for vote in json.loads(body)["results"]] == [text]
    status, _, body = request(api, "GET", "/api/votes/latest?limit=100")
    assert sorted(vote["sede"] for vote in json.loads(body)["results"]) == sorted(SQL_AND_HTML)
    status, headers, body = request(api, "GET", "/api/votes/?format=api")  # the browsable API: HTML
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert b"<script>alert(1)</script>" not in body and b"<img src=x" not in body
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in body
