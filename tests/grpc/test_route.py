"""The gRPC route end to end: a real gRPC server (group commit into the test MariaDB) and a
real gateway (gunicorn + uvicorn) in front of it."""

from __future__ import annotations

import uuid

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from election.models import Vote
from ingest_grpc import contract
from ingest_grpc.protos.escrutinio.v1 import votes_pb2
from scripts.devservices import free_port

from .conftest import gateway_process, grpc_server_process
from .helpers import cast_request, get, good_vote, post

CANONICAL = {
    "sede": "7",
    "municipio": "Patzún",
    "departamento": "Chimaltenango",
    "papeleta": "presidente",
    "partido": "VAMOS",
}


# --- gRPC server ------------------------------------------------------------


def test_a_good_vote_is_stored_once_in_canonical_form(stub) -> None:  # type: ignore[no-untyped-def]
    request = cast_request(sede="007")
    response = stub.CastVote(request, timeout=10)

    assert response.status == votes_pb2.CAST_STATUS_STORED
    assert contract.canonical_vote(response.vote) == {"vote_id": request.vote.vote_id, **CANONICAL}
    row = Vote.objects.get()
    assert (str(row.vote_id), row.route, row.sede, row.municipio.nombre) == (
        request.vote.vote_id,
        "grpc",
        "7",
        "Patzún",
    )


def test_the_same_vote_id_twice_is_stored_once(stub) -> None:  # type: ignore[no-untyped-def]
    request = cast_request()
    first = stub.CastVote(request, timeout=10)
    second = stub.CastVote(request, timeout=10)

    assert (first.status, second.status) == (votes_pb2.CAST_STATUS_STORED, votes_pb2.CAST_STATUS_DUPLICATE)
    assert second.vote == first.vote
    assert Vote.objects.count() == 1


def test_a_vote_id_reused_with_other_content_is_refused(stub) -> None:  # type: ignore[no-untyped-def]
    request = cast_request()
    stub.CastVote(request, timeout=10)
    other = votes_pb2.CastVoteRequest()
    other.CopyFrom(request)
    other.vote.partido = "UNE"

    with pytest.raises(grpc.RpcError) as refused:
        stub.CastVote(other, timeout=10)

    assert refused.value.code() is grpc.StatusCode.ALREADY_EXISTS
    assert Vote.objects.get().partido_id == "VAMOS"


BAD_GRPC_VOTES = {
    "missing partido": ({"partido": None}, {"partido": ["This field is required."]}),
    "blank sede": ({"sede": "  "}, {"sede": ["This field may not be blank."]}),
    "unknown departamento": (
        {"departamento": "Atlantis"},
        {"departamento": ["Unknown departamento 'Atlantis'."]},
    ),
    "municipio of another departamento": (
        {"municipio": "Mixco"},
        {"municipio": ["municipio 'Mixco' is not in departamento 'Chimaltenango' (it is in 'Guatemala')."]},
    ),
    "unknown papeleta": (
        {"papeleta": "Negra"},
        {"papeleta": ["Unknown papeleta (code or ballot colour) 'Negra'."]},
    ),
    "unknown partido": ({"partido": "XYZ"}, {"partido": ["Unknown partido 'XYZ'."]}),
    "over-long": (
        {"sede": "9" * 33},
        {"sede": ["Ensure this field has no more than 32 characters (it has 33)."]},
    ),
    "control characters": ({"partido": "UNE\x00"}, {"partido": ["Must not contain control characters."]}),
    "bad vote_id": (
        {"vote_id": "not-a-uuid"},
        {"vote_id": ["Must be a UUID, such as 3f2b8c1e-9d4a-4b7e-8f00-2a6c5e1d7b90."]},
    ),
}


@pytest.mark.parametrize("changes, errors", BAD_GRPC_VOTES.values(), ids=BAD_GRPC_VOTES.keys())
def test_every_bad_vote_is_invalid_argument_with_field_errors_and_no_row(stub, changes, errors) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as refused:
        stub.CastVote(cast_request(**changes), timeout=10)

    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert contract.bad_request_errors(refused.value.trailing_metadata()) == errors
    assert next(iter(errors)) in refused.value.details()  # readable without the details, too
    assert Vote.objects.count() == 0


def test_all_field_errors_come_back_at_once(stub) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as refused:
        stub.CastVote(
            votes_pb2.CastVoteRequest(vote=votes_pb2.Vote(sede="1", departamento="Peten")), timeout=10
        )

    errors = contract.bad_request_errors(refused.value.trailing_metadata())
    assert errors is not None
    assert set(errors) == {"municipio", "papeleta", "partido"}


def test_a_stream_stores_its_good_votes_and_lists_the_rest(stub) -> None:  # type: ignore[no-untyped-def]
    already = cast_request()
    stub.CastVote(already, timeout=10)
    good = [cast_request(sede=i) for i in range(1, 801)]
    bad = cast_request(partido="XYZ")
    conflict = votes_pb2.CastVoteRequest()
    conflict.CopyFrom(already)
    conflict.vote.sede = "99"

    summary = stub.CastVotes(iter([*good[:400], bad, already, conflict, *good[400:], good[0]]), timeout=30)

    assert (summary.received, summary.stored, summary.duplicate) == (804, 800, 2)
    assert [(r.index, r.reason) for r in summary.rejected] == [
        (400, votes_pb2.RejectedVote.REASON_INVALID),
        (402, votes_pb2.RejectedVote.REASON_CONFLICT),
    ]
    assert [(e.field, e.message) for e in summary.rejected[0].errors] == [
        ("partido", "Unknown partido 'XYZ'.")
    ]
    assert Vote.objects.count() == 801


def test_the_health_service_answers_serving_and_reflection_lists_the_services(channel) -> None:  # type: ignore[no-untyped-def]
    health = health_pb2_grpc.HealthStub(channel)
    for service in ("", "escrutinio.v1.VoteService"):
        answer = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
        assert answer.status == health_pb2.HealthCheckResponse.SERVING

    reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
    [answer] = reflection.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")])
    )
    names = {service.name for service in answer.list_services_response.service}
    assert {"escrutinio.v1.VoteService", "grpc.health.v1.Health"} <= names


# --- gateway ----------------------------------------------------------------


def test_the_gateway_stores_a_good_vote_once(gateway_url: str) -> None:
    vote = good_vote()
    first = post(f"{gateway_url}/votes", vote)
    second = post(f"{gateway_url}/votes", vote)

    assert first == (
        201,
        {
            "vote_id": vote["vote_id"],
            "route": "grpc",
            "status": "stored",
            "vote": {"vote_id": vote["vote_id"], **CANONICAL},
        },
    )
    assert second[0] == 201 and second[1]["status"] == "duplicate"
    assert Vote.objects.count() == 1


def test_the_gateway_assigns_a_vote_id_when_the_client_sends_none(gateway_url: str) -> None:
    status, body = post(f"{gateway_url}/votes", {k: v for k, v in good_vote().items() if k != "vote_id"})

    assert status == 201
    assert str(Vote.objects.get().vote_id) == body["vote_id"] == str(uuid.UUID(body["vote_id"]))


BAD_HTTP_BODIES = {
    # refused by the server's validation, carried back through the gateway
    "missing field": (good_vote(partido=None), "partido"),
    "unknown municipio": (good_vote(municipio="Gotham"), "municipio"),
    "municipio of another departamento": (good_vote(municipio="Mixco"), "municipio"),
    "blank": (good_vote(papeleta=""), "papeleta"),
    "over-long": (good_vote(partido="X" * 101), "partido"),
    "control characters": (good_vote(municipio="Patzun\x07"), "municipio"),
    "bad vote_id": (good_vote(vote_id="1234"), "vote_id"),
    # what the contract cannot carry, refused by the gateway
    "unknown field": (good_vote(color="Blanca"), "color"),
    "number for a name": (good_vote(partido=7), "partido"),
    "boolean sede": (good_vote(sede=True), "sede"),
    "negative sede": (good_vote(sede=-7), "sede"),
    "list": ([good_vote()], "non_field_errors"),
    "lone surrogate": (b'{"sede": 1, "municipio": "Patz\\ud800n"}', "municipio"),
    "malformed JSON": (b'{"sede": 1,', "non_field_errors"),
}


@pytest.mark.parametrize("body, field", BAD_HTTP_BODIES.values(), ids=BAD_HTTP_BODIES.keys())
def test_the_gateway_answers_400_with_field_errors_and_writes_nothing(gateway_url: str, body, field) -> None:  # type: ignore[no-untyped-def]
    status, answer = post(f"{gateway_url}/votes", body)

    assert status == 400
    assert field in answer["errors"]
    assert all(isinstance(m, str) and m for m in answer["errors"][field])
    assert Vote.objects.count() == 0


def test_the_gateway_answers_409_for_a_reused_vote_id(gateway_url: str) -> None:
    vote = good_vote()
    post(f"{gateway_url}/votes", vote)
    status, answer = post(f"{gateway_url}/votes", {**vote, "partido": "UNE"})

    assert status == 409
    assert "vote_id" in answer["errors"]
    assert Vote.objects.get().partido_id == "VAMOS"


def test_the_gateway_is_ready_only_while_the_vote_service_serves(spawn, service_env, port) -> None:  # type: ignore[no-untyped-def]
    server = grpc_server_process(spawn, service_env, port)
    _, url = gateway_process(spawn, service_env, port)
    assert get(f"{url}/healthz") == (200, {"status": "ok"})
    assert get(f"{url}/readyz")[0] == 200

    server.stop()

    assert get(f"{url}/readyz")[0] == 503
    assert get(f"{url}/healthz")[0] == 200


def test_the_gateway_answers_503_when_the_grpc_server_is_unreachable(spawn, service_env) -> None:  # type: ignore[no-untyped-def]
    _, url = gateway_process(spawn, service_env, grpc_port=free_port())

    status, answer = post(f"{url}/votes", good_vote())

    assert status == 503
    assert answer["errors"]["non_field_errors"]
    assert Vote.objects.count() == 0


def test_a_vote_names_its_mesa_through_the_gateway_and_the_mesa_is_checked(gateway_url: str) -> None:
    from election.models import Mesa, MesaTally

    # Committed, so the server's index of mesas (read at the first vote that names one) has them.
    Mesa.objects.bulk_create(
        [
            Mesa(numero=4242, departamento_id="04", municipio_id="0407", sede="7", padron=300),
            Mesa(numero=4250, departamento_id="04", municipio_id="0407", sede="2", padron=350),
        ]
    )
    try:
        vote = good_vote(mesa=4242)
        status, body = post(f"{gateway_url}/votes", vote)
        assert (status, body["vote"]) == (201, {"vote_id": vote["vote_id"], **CANONICAL, "mesa": 4242})
        assert Vote.objects.get().mesa == 4242
        assert list(MesaTally.objects.values_list("mesa", "papeleta_id", "partido_id", "votes")) == [
            (4242, "presidente", "VAMOS", 1)
        ]
        status, body = post(f"{gateway_url}/votes", {**vote, "mesa": 4250})
        assert (status, body["errors"]) == (
            400,
            {"mesa": ["mesa 4250 is in sede 2 of Patzún (Chimaltenango), not this vote's."]},
        )
    finally:
        MesaTally.objects.all().delete()
        Mesa.objects.filter(numero__in=[4242, 4250]).delete()
