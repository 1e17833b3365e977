"""Actas through the Redis route: a real publisher (`POST /actas`) and a real Celery worker
consuming `votes,actas`, started from their Procfile lines, against the test MariaDB and Redis.

One entry is enough here (ACTA_ENTRIES_REQUIRED=1), so a stored acta's status says whether it
counts: `counted`, or `inconsistent` when a rule fails.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis as redis_lib

from election.actas.validation import acta_validate
from election.models import Acta, ActaEntry
from ingest_pubsub.dead_letters import ACTAS
from ingest_pubsub.messages import SignatureInvalid, acta_from_message, acta_to_message
from scripts.devservices import wait_until
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
from tests.support.actas import CLEAN_MESA, sample_mesas_load, typed


@pytest.fixture(scope="module")
def system(request, django_db_setup, django_db_blocker) -> Iterator[System]:  # type: ignore[no-untyped-def]
    with django_db_blocker.unblock(), sample_mesas_committed():
        env = child_env(ACTA_ENTRIES_REQUIRED="1", INGEST_TOKEN_CACHE_SECONDS="1")
        with process_group(request) as group:
            yield System(group.start, env).start(parts=("publisher", "worker"))


@pytest.fixture
def publisher(system: System, committed_db, redis_client) -> Iterator[str]:  # type: ignore[no-untyped-def]
    acta_tables_empty()
    yield f"{system.url('publisher')}/actas"
    acta_tables_empty()


def entries(acta_ids: list[str]) -> int:
    return ActaEntry.objects.filter(acta_id__in=acta_ids).count()


def wait_stored(acta_ids: list[str]) -> None:
    wait_until(lambda: entries(acta_ids) == len(acta_ids), 30, f"{len(acta_ids)} actas stored")


def wait_drained(broker: redis_lib.Redis) -> None:
    """Until the worker has taken and acknowledged every acta message (it acks after the commit)."""
    wait_until(
        lambda: broker.llen("actas") == 0 and broker.hlen("unacked") == 0, 30, "the acta queue drained"
    )


def test_the_publisher_queues_an_acta_and_the_worker_stores_it_once(
    publisher: str, redis_client: redis_lib.Redis
) -> None:
    body = typed(CLEAN_MESA, acta_id=str(uuid.uuid4()))

    status, answer, headers = post(publisher, body, INGEST_TOKEN)
    wait_stored([body["acta_id"]])
    again = post(publisher, body, INGEST_TOKEN)  # a retry: queued again, recorded as a duplicate
    wait_drained(redis_client)

    assert (status, answer) == (
        202,
        {"acta_id": body["acta_id"], "route": "redis", "status": "queued", "failed_rules": []},
    )
    assert headers["acta-id"] == body["acta_id"]
    assert again[0] == 202
    entry = ActaEntry.objects.get()
    assert (str(entry.acta_id), entry.route, entry.credential) == (body["acta_id"], "redis", "shared")
    assert Acta.objects.get(mesa_id=CLEAN_MESA).status == "counted"
    assert redis_client.llen(ACTAS.key) == 0


def test_other_content_under_a_stored_acta_id_is_409(publisher: str) -> None:
    body = typed(CLEAN_MESA, acta_id=str(uuid.uuid4()))
    assert post(publisher, body, INGEST_TOKEN)[0] == 202
    wait_stored([body["acta_id"]])

    status, answer, headers = post(publisher, {**body, "blancos": body["blancos"] + 1}, INGEST_TOKEN)

    assert status == 409 and "acta_id" in answer["errors"]
    assert answer["acta_id"] == headers["acta-id"] == body["acta_id"]
    assert ActaEntry.objects.get().blancos == body["blancos"]


BAD_ACTAS = {
    "unknown mesa": ({"mesa": 99_999_999}, "mesa"),
    "mesa of another sede": ({"mesa": OTHER_MESA}, "mesa"),
    "partido not on the papeleta": ({"votes": {"UNE": 1, "BLANCO": 2}}, "votes"),
    "negative count": ({"impugnados": -1}, "impugnados"),
    "count not an integer": ({"voters": 12.5}, "voters"),
    "malformed hash": ({"image_sha256": "z" * 64}, "image_sha256"),
    "unknown field": ({"colour": "Blanca"}, "colour"),
}


@pytest.mark.parametrize(("changes", "field"), BAD_ACTAS.values(), ids=BAD_ACTAS.keys())
def test_a_bad_acta_is_400_with_its_field_and_queues_nothing(
    publisher: str, redis_client: redis_lib.Redis, changes: dict[str, Any], field: str
) -> None:
    status, answer, _ = post(publisher, {**typed(OWN_MESA), **changes}, INGEST_TOKEN)

    assert status == 400, answer
    assert field in answer["errors"], answer
    assert redis_client.llen("actas") == 0 and redis_client.hlen("unacked") == 0


def test_access_as_votes_and_a_digitador_for_any_mesa(publisher: str) -> None:
    assert post(publisher, typed(OWN_MESA), None)[0] == 401
    assert post(publisher, typed(OWN_MESA), "not-a-token")[0] == 401
    sede_token = sede_token_issue(OWN_MESA)
    until_known(lambda: post(publisher, typed(OTHER_MESA), sede_token)[0], 403, "the sede's token known")
    digitador = ingest_tokens("issue", "--digitador", "rosa")
    until_known(
        lambda: post(publisher, {**typed(OWN_MESA), "mesa": 0}, digitador)[0], 400, "the digitador's known"
    )

    accepted = [
        post(publisher, body, token)
        for body, token in (
            (typed(OWN_MESA, acta_id=str(uuid.uuid4())), sede_token),
            (typed(OWN_MESA, acta_id=str(uuid.uuid4()), entered_by="rosa"), digitador),
            (typed(OTHER_MESA, acta_id=str(uuid.uuid4()), entered_by="rosa"), digitador),
        )
    ]
    refused = post(publisher, typed(OTHER_MESA), sede_token)

    assert [answer[0] for answer in accepted] == [202, 202, 202]
    assert refused[0] == 403 and "authorization" in refused[1]["errors"]
    wait_stored([answer[1]["acta_id"] for answer in accepted])
    credentials = dict(ActaEntry.objects.values_list("entered_by", "credential").distinct())
    assert credentials["rosa"].startswith("token:") and credentials["ana"].startswith("token:")
    assert credentials["rosa"] != credentials["ana"]


def test_the_sample_actas_replayed_through_the_publisher_are_stored_as_the_domain_computes(
    publisher: str,
) -> None:
    bodies = sample_bodies("replay")

    answers = [post(publisher, body, INGEST_TOKEN) for body in bodies]
    wait_stored([body["acta_id"] for body in bodies])

    for body, (status, answer, _) in zip(bodies, answers, strict=True):
        failed = domain_failed_rules(body)
        assert status == 202, (body["mesa"], answer)
        assert (answer["status"], answer["failed_rules"]) == ("queued", failed), body["mesa"]
        entry = ActaEntry.objects.get(acta_id=body["acta_id"])
        head = Acta.objects.get(mesa_id=body["mesa"], papeleta_id="presidente")
        assert (entry.route, list(entry.failed_rules)) == ("redis", failed)
        assert (head.status, list(head.failed_rules)) == (single_entry_status(failed), failed)
    # Mistyped actas break rules and are stored all the same, beside clean ones.
    assert {bool(answer["failed_rules"]) for _, answer, _ in answers} == {True, False}


# --- the acta on the queue ---------------------------------------------------------


@pytest.mark.django_db
def test_an_acta_message_reads_back_as_admitted_and_refuses_any_change() -> None:
    sample_mesas_load()
    acta = dataclasses.replace(acta_validate(typed(CLEAN_MESA)), credential="token:7")
    message = json.loads(json.dumps(acta_to_message(acta)))  # as Celery carries it

    assert acta_from_message(message) == acta
    for field, value in (("nulos", acta.nulos + 1), ("credential", "shared"), ("votes", {"UNE": 999})):
        with pytest.raises(SignatureInvalid):
            acta_from_message({**message, field: value})
    with pytest.raises(SignatureInvalid):
        acta_from_message({key: value for key, value in message.items() if key != "signature"})
