"""vote_validate under any input: a canonical vote that validates to itself, or field errors.

Never another exception: one vote that makes validation raise something else would fail the
whole group-commit batch it shares with other sedes' votes (gRPC server, publisher).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from election.models import SEDE_MAX_LENGTH, Vote
from election.votes.fields import ACCEPTED_FIELDS
from election.votes.recording import votes_record
from election.votes.types import Outcome, ValidatedVote, VoteInvalid
from election.votes.validation import sede_canonical, vote_validate
from ingest_grpc import contract
from ingest_grpc.gateway import cast_request
from ingest_grpc.protos.escrutinio.v1 import votes_pb2
from tests.properties.conftest import counted
from tests.properties.strategies import SQL_AND_HTML, field_text, field_vote, vote_like

pytestmark = pytest.mark.django_db

NAME_FIELDS = ("departamento", "municipio", "papeleta", "partido")
FIELD_VOTE = {
    "sede": 7,
    "departamento": "Peten",
    "municipio": "Flores",
    "papeleta": "Blanca",
    "partido": "UNE",
}


def outcome(data: Any) -> ValidatedVote | VoteInvalid:
    """vote_validate's answer; any exception but VoteInvalid fails the test."""
    try:
        return vote_validate(data)
    except VoteInvalid as invalid:
        return invalid


def assert_field_errors(invalid: VoteInvalid, data: Any) -> None:
    assert isinstance(invalid.errors, dict) and invalid.errors
    for field, messages in invalid.errors.items():
        assert isinstance(field, str)
        allowed = field in ACCEPTED_FIELDS or field == "non_field_errors"
        assert allowed or (isinstance(data, dict) and any(str(key)[:64] == field for key in data))
        assert isinstance(messages, list) and messages
        assert all(isinstance(message, str) and message for message in messages)


@given(data=vote_like())
@example(
    data={
        "sede": 10**5000,
        "departamento": "Peten",
        "municipio": "Flores",
        "papeleta": "Blanca",
        "partido": "UNE",
    }
)
@example(
    data={"sede": "²", "departamento": "Peten", "municipio": "Flores", "papeleta": "Blanca", "partido": "UNE"}
)
@example(data={"\ud800": 1})
@counted
def test_any_input_is_a_canonical_vote_or_field_errors(data: Any) -> None:
    result = outcome(data)
    if isinstance(result, VoteInvalid):
        assert_field_errors(result, data)
        return
    canonical = result.canonical()
    again = vote_validate(canonical, received_at=result.received_at)
    assert again == result  # canonical form is a fixed point: same codes, names, vote_id
    assert len(result.sede) <= SEDE_MAX_LENGTH and result.sede.isprintable()


@given(data=vote_like())
@counted
def test_the_gateway_transcoding_neither_loosens_nor_tightens_the_rules(data: Any) -> None:
    """JSON -> protobuf -> the server's mapping gets the verdict vote_validate gives the JSON."""
    direct = outcome(data)
    request = cast_request(
        data, received_at=direct.received_at if isinstance(direct, ValidatedVote) else _now()
    )
    if not isinstance(request, votes_pb2.CastVoteRequest):
        assert isinstance(direct, VoteInvalid), f"gateway refused a valid vote: {request}"
        return
    wire = votes_pb2.CastVoteRequest.FromString(request.SerializeToString())
    via_grpc = outcome(contract.vote_data(wire.vote))
    assert type(via_grpc) is type(direct)
    if isinstance(direct, ValidatedVote):
        assert isinstance(via_grpc, ValidatedVote)
        assert via_grpc.content_key() == direct.content_key()
        if isinstance(data, dict) and data.get("vote_id") not in (None, ""):
            assert via_grpc.vote_id == direct.vote_id
    else:
        assert isinstance(via_grpc, VoteInvalid)
        assert set(via_grpc.errors) == set(direct.errors)


@given(vote=field_vote(), sede=field_text)
@counted
def test_a_sede_is_free_text_kept_verbatim_or_refused(vote: dict[str, Any], sede: str) -> None:
    result = outcome({**vote, "sede": sede})
    text = " ".join(sede.split())
    acceptable = bool(text) and len(text) <= SEDE_MAX_LENGTH and text.isprintable()
    if not acceptable:
        assert isinstance(result, VoteInvalid) and set(result.errors) == {"sede"}
        return
    assert isinstance(result, ValidatedVote), result
    assert result.sede == sede_canonical(text)
    assert result.sede == text or text.isdecimal()  # only a number is rewritten: "007" is 7


@given(vote=field_vote(), field=st.sampled_from(NAME_FIELDS), text=st.sampled_from(SQL_AND_HTML))
@counted
def test_sql_and_html_in_a_catalogue_name_are_refused_on_that_field(
    vote: dict[str, Any], field: str, text: str
) -> None:
    result = outcome({**vote, field: text})
    assert isinstance(result, VoteInvalid)
    assert field in result.errors


def _now() -> Any:
    from django.utils import timezone

    return timezone.now()


@given(vote=field_vote(), vote_id=st.uuids(), sede=field_text)
@example(vote=FIELD_VOTE, vote_id=uuid.UUID("d34923a2-4d4b-cd7e-296d-7e83b47a99c9"), sede="7")
@example(vote=FIELD_VOTE, vote_id=uuid.UUID("00000000-0000-a000-8000-000000000000"), sede="7")
@counted
def test_every_vote_validation_accepts_can_be_stored(
    vote: dict[str, Any], vote_id: uuid.UUID, sede: str
) -> None:
    """What vote_validate accepts, MariaDB takes: else one vote fails the batch it shares.

    Found by the HTTP and gRPC property tests: MariaDB's UUID column refused vote_ids that
    uuid.UUID accepts (version nibble 12 with variant 0; version 10 with clock_seq_hi 0x80),
    so the batch failed with 503, retried forever by its sender.
    """
    result = outcome({**vote, "vote_id": str(vote_id), "sede": sede})
    if isinstance(result, VoteInvalid):
        assert set(result.errors) <= {"vote_id", "sede"}
        assert "vote_id" in result.errors or "sede" in result.errors
        return
    (recorded,) = votes_record(votes=[result], route="grpc")  # never StorageUnavailable
    assert Vote.objects.filter(vote_id=result.vote_id).count() == 1
    if recorded.outcome is not Outcome.CONFLICT:  # hypothesis may replay a vote_id with other content
        assert Vote.objects.filter(vote_id=result.vote_id, sede=result.sede).exists()
