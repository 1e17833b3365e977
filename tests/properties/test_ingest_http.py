"""Both HTTP entry points under any request, over real HTTP against real processes.

For every body, content type and framing, the answer is the one the documented rules give
(checked against a model: the edge's envelope rules, then vote_validate itself), never a
500 or a 503 while every service is up, always JSON of the documented shape; and nothing
refused is ever stored (gateway -> gRPC -> MySQL) or queued (publisher -> Redis). Every answer
to a vote that was read carries its vote_id (the client's, or the one the edge assigned) in
the body and the `Vote-Id` header, whatever its status; an answer to a body that is no vote,
none.
"""

from __future__ import annotations

import http.client
import json
import os
import urllib.parse
import uuid
from dataclasses import dataclass
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from election.ingest.edge import NESTED_TOO_DEEP
from election.models import Route, Vote
from election.votes.recording import votes_record
from election.votes.types import ValidatedVote, VoteInvalid
from election.votes.validation import vote_validate
from tests.properties.conftest import counted, outcome_seen
from tests.properties.ingest import Answer, Ingest, ingest, send
from tests.properties.strategies import content_types, http_body, nested

__all__ = ["ingest"]  # the module-scoped fixture

MAX_BODY = int(os.environ.get("VOTE_MAX_BODY_BYTES", "4096"))  # the processes get the same environment
NEVER = {500, 502, 503, 504}  # with every service up, any of these is a bug

bodies = http_body(MAX_BODY)
REGRESSIONS = [
    nested(1500),  # json.loads raised RecursionError: 500 before the edge caught it
    b'{"\\ud800": 1}',  # an unknown field named by a lone surrogate: the error reply could not be encoded
    b'{"sede": "\\ud800", "departamento": "Peten"}',
    b'{"sede": 1' + b"0" * 4400 + b"}",  # json.loads raises ValueError (int digits limit) past the size limit
    b"7" * 1_000_000,
    b"\xff\xfe{}",
    b"",
    b"null",
    b"NaN",
    b'{"sede": "\\u00b2", "departamento": "Peten", "municipio": "Flores", "papeleta": "Blanca", '
    b'"partido": "UNE"}',
]


@dataclass(frozen=True)
class Refused:
    status: int


def envelope(body: bytes, content_type: str | None) -> Refused | Any:
    """The edge's rules: the refusal, or the parsed JSON (with a vote_id assigned when absent)."""
    if (content_type or "").split(";")[0].strip().lower() != "application/json":
        return Refused(415)
    if len(body) > MAX_BODY:
        return Refused(413)
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return Refused(400)
    if isinstance(data, dict) and data.get("vote_id") in (None, ""):
        data["vote_id"] = str(uuid.uuid4())
    return data


ASSIGNED = "assigned by the edge"  # the client sent none: any UUID


def vote_id_expected(body: bytes, content_type: str | None) -> str | None:
    """The vote_id an answer must carry: the client's (canonical) if it is a UUID, ASSIGNED if
    it sent none, None if the body was no JSON object or its vote_id no UUID."""
    model = envelope(body, content_type)
    if isinstance(model, Refused) or not isinstance(model, dict):
        return None
    value = json.loads(body.decode("utf-8")).get("vote_id")
    if value in (None, ""):
        return ASSIGNED
    if not isinstance(value, str) or len(value) > 45:
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def assert_vote_id(answer: Answer, expected_id: str | None) -> None:
    body = answer.body if isinstance(answer.body, dict) else {}
    if body.get("errors") == {"non_field_errors": [NESTED_TOO_DEEP]}:
        expected_id = None  # the server's parser, with less stack than this one, read no vote
    if expected_id is None:
        assert "vote_id" not in body, answer
    elif expected_id is ASSIGNED:
        assert uuid.UUID(body["vote_id"]), answer
    else:
        assert body["vote_id"] == expected_id, (answer, expected_id)


def deep(body: bytes) -> bool:
    """Nested deeply enough that where the parser's stack gives out depends on the process."""
    return body.count(b"[") + body.count(b"{") > 200


def verdict(data: Any) -> ValidatedVote | VoteInvalid:
    try:
        return vote_validate(data)
    except VoteInvalid as invalid:
        return invalid


def assert_errors_shape(answer: Answer) -> dict[str, list[str]]:
    assert answer.content_type.startswith("application/json"), answer
    assert isinstance(answer.body, dict) and set(answer.body) - {"vote_id"} == {"errors"}, answer.body
    errors = answer.body["errors"]
    assert isinstance(errors, dict) and errors
    for field, messages in errors.items():
        assert isinstance(field, str) and isinstance(messages, list) and messages
        assert all(isinstance(message, str) and message for message in messages)
    return errors


def assert_accepted_shape(answer: Answer, route: str, status: set[str], vote: ValidatedVote) -> None:
    body = answer.body
    assert answer.content_type.startswith("application/json"), answer
    assert isinstance(body, dict) and set(body) == {"vote_id", "route", "status", "vote"}, body
    assert body["route"] == route and body["status"] in status
    assert body["vote_id"] == body["vote"]["vote_id"]
    expected = {**vote.canonical(), "vote_id": body["vote_id"]}
    assert body["vote"] == expected


def stored_content(vote_id: uuid.UUID) -> tuple[str | int | None, ...] | None:
    row = Vote.objects.filter(vote_id=vote_id).values_list(
        "sede", "departamento_id", "municipio_id", "papeleta_id", "partido_id", "mesa"
    )
    return tuple(row[0]) if row else None


def expected(body: bytes, content_type: str | None) -> tuple[int | None, ValidatedVote | VoteInvalid | None]:
    model = envelope(body, content_type)
    if isinstance(model, Refused):
        return model.status, None
    return None, verdict(model)


@given(body=bodies, content_type=content_types, chunked=st.booleans())
@example(body=REGRESSIONS[0], content_type="application/json", chunked=False)
@example(body=REGRESSIONS[1], content_type="application/json", chunked=False)
@example(body=REGRESSIONS[2], content_type="application/json", chunked=True)
@example(body=REGRESSIONS[3], content_type="application/json", chunked=False)
@example(body=REGRESSIONS[4], content_type="application/json", chunked=True)
@example(body=REGRESSIONS[5], content_type="application/json", chunked=False)
@example(body=REGRESSIONS[9], content_type="application/json", chunked=False)
@counted
def test_gateway_answers_any_request_as_documented_and_stores_only_valid_votes(
    ingest: Ingest, body: bytes, content_type: str | None, chunked: bool
) -> None:
    refused, checked = expected(body, content_type)
    known = None
    if isinstance(checked, ValidatedVote):
        known = stored_content(checked.vote_id)
    before = Vote.objects.count()

    answer = send(
        ingest.port("gateway"), body, content_type=content_type, token=ingest.token, chunked=chunked
    )

    outcome_seen(str(answer.status))
    assert answer.status not in NEVER, (answer, content_type, body[:300])
    assert_vote_id(answer, vote_id_expected(body, content_type))
    after = Vote.objects.count()
    if refused is not None or isinstance(checked, VoteInvalid):
        assert answer.status == (refused or 400), answer
        assert_errors_shape(answer)
        assert after == before, "a refused vote was stored"
        return
    assert isinstance(checked, ValidatedVote)
    if known is not None and known != checked.content_key():
        assert answer.status == 409, answer
        assert set(assert_errors_shape(answer)) == {"vote_id"}
        assert after == before and stored_content(checked.vote_id) == known
        return
    assert answer.status == 201, answer
    assert_accepted_shape(answer, "grpc", {"duplicate" if known else "stored"}, checked)
    assert after == before + (0 if known else 1)
    assert stored_content(uuid.UUID(answer.body["vote_id"])) == checked.content_key()


@given(body=bodies, content_type=content_types, chunked=st.booleans())
@example(body=REGRESSIONS[0], content_type="application/json", chunked=False)
@example(body=REGRESSIONS[1], content_type="application/json", chunked=False)
@example(body=REGRESSIONS[2], content_type="application/json", chunked=True)
@example(body=REGRESSIONS[6], content_type="application/json", chunked=False)
@example(body=REGRESSIONS[7], content_type="application/json", chunked=False)
@example(body=REGRESSIONS[8], content_type="application/json", chunked=False)
@example(body=REGRESSIONS[9], content_type="application/json", chunked=False)
@counted
def test_publisher_answers_any_request_as_documented_and_queues_only_valid_votes(
    ingest: Ingest, body: bytes, content_type: str | None, chunked: bool
) -> None:
    refused, checked = expected(body, content_type)
    known = stored_content(checked.vote_id) if isinstance(checked, ValidatedVote) else None
    before = ingest.queued()

    answer = send(
        ingest.port("publisher"), body, content_type=content_type, token=ingest.token, chunked=chunked
    )

    outcome_seen(str(answer.status))
    assert answer.status not in NEVER, (answer, content_type, body[:300])
    assert_vote_id(answer, vote_id_expected(body, content_type))
    after = ingest.queued()
    if refused is not None:
        assert answer.status == refused, answer
        assert set(assert_errors_shape(answer)) == {"non_field_errors"} or deep(body)
        assert after == before, "a refused vote was queued"
        return
    if isinstance(checked, VoteInvalid):
        assert answer.status == 400, answer
        errors = assert_errors_shape(answer)
        # The same function, the same words; only the parser's stack (smaller in a server
        # than here) may give out first on deep nesting.
        assert errors == checked.errors or (deep(body) and errors == {"non_field_errors": [NESTED_TOO_DEEP]})
        assert after == before, "a refused vote was queued"
        return
    assert isinstance(checked, ValidatedVote)
    if known is not None and known != checked.content_key():  # stored through the gateway
        assert answer.status == 409, answer
        assert set(assert_errors_shape(answer)) == {"vote_id"}
        assert after == before, "a conflicting vote was queued"
        return
    assert answer.status == 202, answer
    assert_accepted_shape(answer, "redis", {"queued"}, checked)
    assert after == before + 1


paths = st.sampled_from(["/votes", "/votes/", "/healthz", "/readyz", "/", "/admin/", "/votes?x=1"]) | st.text(
    max_size=30
).map(lambda text: "/" + "".join(f"%{byte:02X}" for byte in text.encode("utf-8", "surrogatepass")))


@given(
    part=st.sampled_from(["gateway", "publisher"]),
    method=st.sampled_from(["GET", "PUT", "PATCH", "DELETE", "OPTIONS", "POST"]),
    path=paths,
)
@counted
def test_any_method_and_path_is_answered_in_json_never_with_a_server_error(
    ingest: Ingest, part: str, method: str, path: str
) -> None:
    before = (Vote.objects.count(), ingest.queued())
    answer = send(ingest.port(part), b"{}", token=ingest.token, method=method, path=path)
    outcome_seen(str(answer.status))
    assert answer.status not in NEVER, (answer, method, path)
    route = urllib.parse.unquote(path.split("?")[0])  # as the server decodes it
    if route in ("/healthz", "/readyz"):
        assert answer.status == 200 and answer.body == {"status": "ok"}
    elif route == "/metrics":
        assert answer.status == 200
    elif route == "/votes":
        assert answer.status == (400 if method == "POST" else 405), answer
        assert_errors_shape(answer)
    else:
        assert answer.status == 404, answer
        assert_errors_shape(answer)
    assert (Vote.objects.count(), ingest.queued()) == before


def post_with_headers(
    port: int, body: bytes, token: str | None
) -> tuple[int, dict[str, Any] | bytes, dict[str, str]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        conn.request("POST", "/votes", body=body, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        answer_headers = {name.lower(): value for name, value in response.getheaders()}
    finally:
        conn.close()
    try:
        return response.status, json.loads(raw), answer_headers
    except ValueError:
        return response.status, raw, answer_headers


PATZUN = {"departamento": "Chimaltenango", "municipio": "Patzun", "sede": 7, "papeleta": "Blanca"}


def test_every_answer_to_a_vote_carries_its_vote_id_on_both_routes(ingest: Ingest) -> None:
    """Whatever the answer, a client that sent no vote_id learns the one to retry with."""
    stored = {**PATZUN, "partido": "VAMOS", "vote_id": str(uuid.uuid4())}
    votes_record(votes=[vote_validate(stored)], route=Route.GRPC)
    client_id = str(uuid.uuid4())
    cases: list[tuple[str, dict[str, Any] | str, str | None, set[int]]] = [
        ("valid, none sent", {**PATZUN, "partido": "VAMOS"}, ingest.token, {201, 202}),
        ("invalid, none sent", {**PATZUN, "partido": "NADIE"}, ingest.token, {400}),
        ("unknown token", {**PATZUN, "partido": "VAMOS"}, "not-a-token", {401}),
        ("no token", {**PATZUN, "partido": "VAMOS"}, None, {401}),
        ("client's, upper case", {**PATZUN, "partido": "VAMOS", "vote_id": client_id.upper()},
         ingest.token, {201, 202}),
        ("conflict", {**stored, "partido": "SEMILLA"}, ingest.token, {409}),
    ]  # fmt: skip
    for part in ("gateway", "publisher"):
        for what, sent, token, statuses in cases:
            status, answer, headers = post_with_headers(ingest.port(part), json.dumps(sent).encode(), token)
            assert status in statuses, (part, what, status, answer)
            assert isinstance(answer, dict)
            assert headers["vote-id"] == answer["vote_id"], (part, what, headers, answer)
            if isinstance(sent, dict) and "vote_id" in sent:
                assert answer["vote_id"] == str(uuid.UUID(sent["vote_id"])), (part, what)
            else:
                assert uuid.UUID(answer["vote_id"]).version == 4, (part, what)
        for what, raw in (
            ("not JSON", b"{"),
            ("not an object", b"[1]"),
            ("vote_id no UUID", b'{"vote_id": "x"}'),
        ):
            status, answer, headers = post_with_headers(ingest.port(part), raw, ingest.token)
            assert status == 400, (part, what, status)
            assert isinstance(answer, dict) and "vote_id" not in answer, (part, what, answer)
            assert "vote-id" not in headers, (part, what)
