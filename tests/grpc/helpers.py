"""Small clients for the tests: an HTTP POST and vote builders."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from typing import Any

from ingest_grpc.protos.escrutinio.v1 import votes_pb2
from tests.conftest import AUTHORIZATION

GOOD_VOTE = {
    "sede": 7,
    "municipio": "Patzun",
    "departamento": "Chimaltenango",
    "papeleta": "Blanca",
    "partido": "VAMOS",
}


def good_vote(**changes: Any) -> dict[str, Any]:
    return {"vote_id": str(uuid.uuid4()), **GOOD_VOTE, **changes}


def vote_message(body: dict[str, Any]) -> votes_pb2.Vote:
    """A JSON vote as the contract's message: every field as text, the mesa as a number."""
    fields: dict[str, Any] = {
        name: value if name == "mesa" else str(value) for name, value in body.items() if value is not None
    }
    return votes_pb2.Vote(**fields)


def cast_request(**changes: Any) -> votes_pb2.CastVoteRequest:
    return votes_pb2.CastVoteRequest(vote=vote_message(good_vote(**changes)))


def post(
    url: str,
    body: bytes | Any,
    content_type: str = "application/json",
    authorization: str | None = AUTHORIZATION,
) -> tuple[int, dict[str, Any]]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": content_type} | ({"Authorization": authorization} if authorization else {})
    request = urllib.request.Request(url, data=data, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
