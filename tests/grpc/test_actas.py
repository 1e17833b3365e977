"""Actas through the gRPC route: a real gRPC server (ActaService) and a real gateway
(`POST /actas`), started from their Procfile lines, against the test MariaDB.

One entry is enough here (ACTA_ENTRIES_REQUIRED=1), so an acta's status says whether it counts:
`counted`, or `inconsistent` when a rule fails. Double entry is the domain's (tests/actas).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from election.models import Acta, ActaEntry
from ingest_grpc import acta_contract, contract
from ingest_grpc.protos.escrutinio.v1 import actas_pb2, actas_pb2_grpc
from scripts.system import System
from tests.conftest import INGEST_TOKEN, child_env, process_group
from tests.support.acta_routes import (
    OTHER_MESA,
    OWN_MESA,
    acta_tables_empty,
    domain_failed_rules,
    ingest_tokens,
    post,
    sample_bodies,
    sample_mesas_committed,
    sede_token_issue,
    single_entry_status,
    until_known,
)
from tests.support.actas import CLEAN_MESA, typed


@pytest.fixture(scope="module")
def system(request, django_db_setup, django_db_blocker) -> Iterator[System]:  # type: ignore[no-untyped-def]
    with django_db_blocker.unblock(), sample_mesas_committed():
        env = child_env(ACTA_ENTRIES_REQUIRED="1", INGEST_TOKEN_CACHE_SECONDS="1")
        with process_group(request) as group:
            yield System(group.start, env).start(parts=("grpc", "gateway"))


@pytest.fixture
def gateway(system: System, committed_db) -> Iterator[str]:  # type: ignore[no-untyped-def]
    acta_tables_empty()
    yield f"{system.url('gateway')}/actas"
    acta_tables_empty()


@pytest.fixture
def stub(system: System, gateway: str) -> Iterator[actas_pb2_grpc.ActaServiceStub]:
    with grpc.insecure_channel(f"127.0.0.1:{system.ports['grpc']}") as channel:
        yield actas_pb2_grpc.ActaServiceStub(channel)


BEARER = (("authorization", f"Bearer {INGEST_TOKEN}"),)


def submit_request(body: dict[str, Any]) -> actas_pb2.SubmitActaRequest:
    request = acta_contract.submit_request(body, received_at=datetime.now(UTC))
    assert isinstance(request, actas_pb2.SubmitActaRequest), request
    request.ClearField("received_at")  # a direct caller's is not believed anyway
    return request


# --- the gateway -------------------------------------------------------------


def test_the_gateway_stores_an_acta_once_and_answers_its_status(gateway: str) -> None:
    body = typed(CLEAN_MESA, acta_id=str(uuid.uuid4()))

    first = post(gateway, body, INGEST_TOKEN)
    again = post(gateway, body, INGEST_TOKEN)

    assert first[:2] == (
        201,
        {
            "acta_id": body["acta_id"],
            "route": "grpc",
            "status": "counted",
            "outcome": "stored",
            "failed_rules": [],
        },
    )
    assert first[2]["acta-id"] == body["acta_id"]
    assert again[0] == 201 and again[1]["outcome"] == "duplicate" and again[1]["status"] == "counted"
    assert ActaEntry.objects.filter(acta_id=body["acta_id"]).count() == 1
    assert ActaEntry.objects.get().route == "grpc"


def test_other_content_under_a_stored_acta_id_is_409_and_changes_nothing(gateway: str) -> None:
    body = typed(CLEAN_MESA, acta_id=str(uuid.uuid4()))
    assert post(gateway, body, INGEST_TOKEN)[0] == 201

    status, answer, headers = post(gateway, {**body, "nulos": body["nulos"] + 1}, INGEST_TOKEN)

    assert status == 409 and "acta_id" in answer["errors"]
    assert answer["acta_id"] == headers["acta-id"] == body["acta_id"]
    assert ActaEntry.objects.get().nulos == body["nulos"]


def test_the_gateway_assigns_an_acta_id_when_the_client_sends_none(gateway: str) -> None:
    status, answer, headers = post(gateway, typed(CLEAN_MESA), INGEST_TOKEN)

    assert status == 201
    assert answer["acta_id"] == headers["acta-id"] == str(ActaEntry.objects.get().acta_id)


BAD_ACTAS = {
    # refused by the server's validation, carried back through the gateway
    "unknown mesa": ({"mesa": 99_999_999}, "mesa"),
    "mesa of another sede": ({"mesa": OTHER_MESA}, "mesa"),
    "partido not on the papeleta": ({"votes": {"UNE": 1, "NULO": 2}}, "votes"),
    "unknown partido": ({"votes": {"Partido Inventado": 1}}, "votes"),
    "negative count": ({"nulos": -1}, "nulos"),
    "malformed hash": ({"image_sha256": "abc"}, "image_sha256"),
    "missing count": ({"voters": None}, "voters"),
    "correction without reason": ({"corrects": True}, "reason"),
    # what the contract cannot carry, refused by the gateway
    "count not an integer": ({"blancos": 2.5}, "blancos"),
    "count as text": ({"blancos": "2"}, "blancos"),
    "vote count not an integer": ({"votes": {"UNE": "7"}}, "votes"),
    "unknown field": ({"colour": "Blanca"}, "colour"),
    "bad acta_id": ({"acta_id": "1234"}, "acta_id"),
}


@pytest.mark.parametrize(("changes", "field"), BAD_ACTAS.values(), ids=BAD_ACTAS.keys())
def test_a_bad_acta_is_400_with_its_field_and_stores_nothing(
    gateway: str, changes: dict[str, Any], field: str
) -> None:
    status, answer, _ = post(gateway, {**typed(OWN_MESA), **changes}, INGEST_TOKEN)

    assert status == 400, answer
    assert field in answer["errors"], answer
    assert ActaEntry.objects.count() == 0


def test_access_as_votes_and_a_digitador_for_any_mesa(gateway: str) -> None:
    assert post(gateway, typed(OWN_MESA), None)[0] == 401
    assert post(gateway, typed(OWN_MESA), "not-a-token")[0] == 401
    sede_token = sede_token_issue(OWN_MESA)
    until_known(lambda: post(gateway, typed(OTHER_MESA), sede_token)[0], 403, "the sede's token known")
    digitador = ingest_tokens("issue", "--digitador", "rosa")
    until_known(
        lambda: post(gateway, {**typed(OWN_MESA), "mesa": 0}, digitador)[0],
        400,
        "the digitador's token known",
    )

    own = post(gateway, typed(OWN_MESA), sede_token)
    other = post(gateway, typed(OTHER_MESA), sede_token)
    by_digitador = [post(gateway, typed(mesa), digitador) for mesa in (OWN_MESA, OTHER_MESA)]

    assert own[0] == 201
    assert other[0] == 403 and "authorization" in other[1]["errors"]
    assert [answer[0] for answer in by_digitador] == [201, 201]
    assert set(ActaEntry.objects.values_list("mesa_id", flat=True)) == {OWN_MESA, OTHER_MESA}
    assert ActaEntry.objects.count() == 3


# --- ActaService called directly ----------------------------------------------


def test_submit_acta_stores_once_and_refuses_other_content(stub: actas_pb2_grpc.ActaServiceStub) -> None:
    request = submit_request(typed(CLEAN_MESA, acta_id=str(uuid.uuid4())))

    first = stub.SubmitActa(request, metadata=BEARER, timeout=10)
    again = stub.SubmitActa(request, metadata=BEARER, timeout=10)
    other = actas_pb2.SubmitActaRequest()
    other.CopyFrom(request)
    other.acta.blancos += 1
    with pytest.raises(grpc.RpcError) as refused:
        stub.SubmitActa(other, metadata=BEARER, timeout=10)

    assert (first.outcome, again.outcome) == (actas_pb2.ACTA_OUTCOME_STORED, actas_pb2.ACTA_OUTCOME_DUPLICATE)
    assert first.status == actas_pb2.ACTA_STATUS_COUNTED and list(first.failed_rules) == []
    assert refused.value.code() is grpc.StatusCode.ALREADY_EXISTS
    assert ActaEntry.objects.count() == 1


def test_submit_acta_refusals_are_the_vote_service_codes(stub: actas_pb2_grpc.ActaServiceStub) -> None:
    with pytest.raises(grpc.RpcError) as invalid:
        stub.SubmitActa(submit_request(typed(OWN_MESA, nulos=-3)), metadata=BEARER, timeout=10)
    with pytest.raises(grpc.RpcError) as unauthenticated:
        stub.SubmitActa(submit_request(typed(OWN_MESA)), timeout=10)

    assert invalid.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert set(contract.bad_request_errors(invalid.value.trailing_metadata()) or {}) == {"nulos"}
    assert unauthenticated.value.code() is grpc.StatusCode.UNAUTHENTICATED
    assert ActaEntry.objects.count() == 0


def test_health_and_reflection_list_the_acta_service(system: System) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{system.ports['grpc']}") as channel:
        answer = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service="escrutinio.v1.ActaService"), timeout=5
        )
        [listing] = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")])
        )
    assert answer.status == health_pb2.HealthCheckResponse.SERVING
    assert "escrutinio.v1.ActaService" in {service.name for service in listing.list_services_response.service}


# --- the 20 sample actas ---------------------------------------------------------


def test_the_sample_actas_replayed_through_the_gateway_answer_what_the_domain_computes(gateway: str) -> None:
    bodies = sample_bodies("replay")

    answers = [post(gateway, body, INGEST_TOKEN) for body in bodies]

    for body, (status, answer, _) in zip(bodies, answers, strict=True):
        failed = domain_failed_rules(body)
        assert status == 201, (body["mesa"], answer)
        assert answer["failed_rules"] == failed, body["mesa"]
        assert answer["status"] == single_entry_status(failed), body["mesa"]
        head = Acta.objects.get(mesa_id=body["mesa"], papeleta_id="presidente")
        assert (head.status, list(head.failed_rules)) == (answer["status"], failed)
    # Mistyped actas break rules and are stored all the same, beside clean ones.
    assert {bool(answer["failed_rules"]) for _, answer, _ in answers} == {True, False}
    assert ActaEntry.objects.count() == len(bodies)
