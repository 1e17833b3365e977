"""The acta as the protobuf contract carries it (proto/escrutinio/v1/actas.proto), both ways:
the gateway's JSON to a SubmitActaRequest, the server's request to the mapping `acta_validate`
reads, and the answer back to JSON.

Pure Python and protobuf, like ingest_grpc.contract: the gateway imports it without Django.
Only what the contract cannot carry is refused here (a field it does not have, a number that is
not an integer or is beyond int64, text that is not text); every rule of an acta is the
server's, so both routes answer the same field errors for the same acta.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from google.protobuf.message import DecodeError

from election.votes.fields import json_type_name
from ingest_grpc.contract import FieldErrors, MalformedRequest
from ingest_grpc.protos.escrutinio.v1 import actas_pb2

# The fields of an acta as the JSON and the message name them.
INTEGER_FIELDS = tuple(
    field.name
    for field in actas_pb2.Acta.DESCRIPTOR.fields
    if field.type == field.TYPE_INT64  # mesa and every count
)
TEXT_FIELDS = ("departamento", "municipio", "papeleta", "image_sha256", "entered_by", "reason")
ACCEPTED_FIELDS = frozenset(field.name for field in actas_pb2.Acta.DESCRIPTOR.fields)
# More than any papeleta lists: a bound on what one message makes the server resolve.
MAX_PARTIDOS = 64
INT64_RANGE = (-(2**63), 2**63 - 1)

OUTCOME_NAMES = {actas_pb2.ACTA_OUTCOME_STORED: "stored", actas_pb2.ACTA_OUTCOME_DUPLICATE: "duplicate"}
OUTCOMES = {name: value for value, name in OUTCOME_NAMES.items()}
STATUS_NAMES = {
    actas_pb2.ACTA_STATUS_PENDING: "pending",
    actas_pb2.ACTA_STATUS_COUNTED: "counted",
    actas_pb2.ACTA_STATUS_INCONSISTENT: "inconsistent",
    actas_pb2.ACTA_STATUS_IN_REVIEW: "in_review",
}
STATUSES = {name: value for value, name in STATUS_NAMES.items()}


def request_parse(raw: bytes) -> actas_pb2.SubmitActaRequest | MalformedRequest:
    """The server's request deserializer: an undecodable request reaches the servicer, which
    answers INVALID_ARGUMENT (as ingest_grpc.contract.request_parse for votes)."""
    try:
        return actas_pb2.SubmitActaRequest.FromString(raw)
    except DecodeError as exc:
        return MalformedRequest(str(exc))


def submit_request(data: Any, received_at: datetime) -> actas_pb2.SubmitActaRequest | FieldErrors:
    """The JSON acta as a SubmitActaRequest, or the errors of what the contract cannot carry."""
    if not isinstance(data, dict):
        return {"non_field_errors": [f"Expected a JSON object, not {json_type_name(data)}."]}
    errors: FieldErrors = {}
    acta = actas_pb2.Acta()
    for name, value in data.items():
        if name not in ACCEPTED_FIELDS:
            errors[str(name)[:64]] = ["Unknown field."]
        elif value is None:
            continue  # absent: the server answers "required" where the field is
        else:
            problem = _field_set(acta, name, value)
            if problem:
                errors[name] = [problem]
    if errors:
        return errors
    request = actas_pb2.SubmitActaRequest(acta=acta)
    request.received_at.FromDatetime(received_at)
    return request


def _field_set(acta: actas_pb2.Acta, name: str, value: Any) -> str | None:
    """Set one field of the message; the reason it cannot carry `value`, or None."""
    if name in INTEGER_FIELDS:
        problem = _integer_problem(value)
        if problem is None:
            setattr(acta, name, value)
        return problem
    if name == "votes":
        return _votes_set(acta, value)
    if name == "corrects":
        if type(value) is not bool:
            return f"Must be a boolean, not {json_type_name(value)}."
        acta.corrects = value
        return None
    if name == "sede" and type(value) is int:
        if value < 0:
            return "Must not be negative."
        value = str(value)
    if not isinstance(value, str):
        kind = "an integer or a string" if name == "sede" else "a string"
        return f"Must be {kind}, not {json_type_name(value)}."
    if not _is_utf8(value):
        return "Must be valid Unicode text."
    setattr(acta, name, value)
    return None


def _votes_set(acta: actas_pb2.Acta, value: Any) -> str | None:
    if not isinstance(value, dict):
        return f"Must be an object of partido: votes, not {json_type_name(value)}."
    if len(value) > MAX_PARTIDOS:
        return f"At most {MAX_PARTIDOS} partidos; this acta names {len(value)}."
    for partido, votes in value.items():
        problem = _integer_problem(votes) or (None if _is_utf8(partido) else "Must be valid Unicode text.")
        if problem:
            return f"{str(partido)[:64]}: {problem}"
    acta.votes.SetInParent()  # present even when empty: the server tells {} from absent
    acta.votes.by_partido.update(value)
    return None


def _integer_problem(value: Any) -> str | None:
    if type(value) is not int:  # bool is an int to Python, never to an acta
        return f"Must be an integer, not {json_type_name(value)}."
    if not INT64_RANGE[0] <= value <= INT64_RANGE[1]:
        return "Must be an integer of at most 18 digits."
    return None


def _is_utf8(value: str) -> bool:
    try:
        value.encode("utf-8")  # JSON "\ud800" escapes decode to lone surrogates, which protobuf refuses
        return True
    except UnicodeEncodeError:
        return False


def acta_data(acta: actas_pb2.Acta) -> dict[str, Any]:
    """The acta as the mapping `acta_validate` reads; an unset field stays absent ("required")."""
    data: dict[str, Any] = {
        field.name: getattr(acta, field.name)
        for field in actas_pb2.Acta.DESCRIPTOR.fields
        if field.has_presence and field.name != "votes" and acta.HasField(field.name)
    }
    if acta.HasField("votes"):
        data["votes"] = dict(acta.votes.by_partido)
    if acta.acta_id:
        data["acta_id"] = acta.acta_id
    return data


def answer_json(response: actas_pb2.SubmitActaResponse, route: str) -> dict[str, Any]:
    """SubmitActaResponse in the JSON shape the HTTP routes answer with."""
    return {
        "acta_id": response.acta_id,
        "route": route,
        "status": STATUS_NAMES.get(response.status, "unknown"),
        "outcome": OUTCOME_NAMES.get(response.outcome, "unknown"),
        "failed_rules": list(response.failed_rules),
    }
