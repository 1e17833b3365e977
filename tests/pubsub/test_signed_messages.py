"""Queue messages are signed: whoever can reach the broker Redis cannot have a vote stored.

The forged messages are written to the queue the way an attacker would: LPUSH of the very
envelope kombu and Celery put on the list "votes" (see `_envelope`), not through Celery.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import uuid
from dataclasses import replace
from typing import Any

import pytest
import redis

from election.models import Vote
from election.votes.validation import vote_validate
from ingest_pubsub.dead_letters import DEAD_LETTER_KEY, REQUEUEING_KEY, dead_letters_requeue
from ingest_pubsub.messages import SignatureInvalid, vote_from_message, vote_to_message
from ingest_pubsub.tasks import record_batch
from scripts.devservices import wait_until
from tests.conftest import ROOT
from tests.pubsub.conftest import QUEUE_KEY, signed_vote, start_worker
from tests.support.mesas import few_mesas  # noqa: F401  # a fixture


def test_forged_and_altered_messages_are_parked_and_never_stored(  # type: ignore[no-untyped-def]
    spawn, route_env, redis_client: redis.Redis
) -> None:
    genuine = signed_vote(partido="VAMOS")
    record_batch.apply_async(args=[[genuine]])  # queued, no worker yet: it can be copied
    envelope = json.loads(redis_client.lindex(QUEUE_KEY, 0))  # type: ignore[arg-type]

    # A copy of the genuine message with the vote changed, its signature kept.
    altered = {**genuine, "vote_id": str(uuid.uuid4()), "partido": "SEMILLA"}
    redis_client.lpush(QUEUE_KEY, json.dumps(_envelope([altered], like=envelope)))
    # A message made from nothing: no signature at all.
    forged = {key: value for key, value in signed_vote(partido="UNE").items() if key != "signature"}
    redis_client.lpush(QUEUE_KEY, json.dumps(_envelope([forged])))

    start_worker(spawn, route_env, processes=1)
    wait_until(lambda: redis_client.llen(DEAD_LETTER_KEY) == 2, 30, "both parked")
    wait_until(lambda: Vote.objects.filter(vote_id=genuine["vote_id"]).exists(), 30, "the genuine one stored")
    assert [str(vote_id) for vote_id in Vote.objects.values_list("vote_id", flat=True)] == [
        genuine["vote_id"]
    ]
    parked = {
        entry["vote"]["vote_id"]: entry
        for entry in map(json.loads, redis_client.lrange(DEAD_LETTER_KEY, 0, -1))
    }
    assert parked[altered["vote_id"]]["vote"] == altered
    assert parked[forged["vote_id"]]["vote"] == forged
    assert parked[altered["vote_id"]]["reason"].startswith("signature: ")
    assert parked[forged["vote_id"]]["reason"] == "signature: the vote is unsigned"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "tamper",
    [
        lambda vote: {**vote, "sede": "8"},
        lambda vote: {**vote, "received_at": "2026-06-25T19:00:00+00:00"},
        lambda vote: {**vote, "signature": "0" * 64},
        lambda vote: {**vote, "extra": "x"},
        lambda vote: {key: value for key, value in vote.items() if key != "signature"},
    ],
    ids=["sede", "received_at", "signature", "extra field", "unsigned"],
)
def test_a_vote_read_from_the_queue_must_carry_its_own_signature(tamper: Any) -> None:
    vote = signed_vote()
    assert str(vote_from_message(vote).vote_id) == vote["vote_id"]
    with pytest.raises(SignatureInvalid):
        vote_from_message(tamper(vote))


def test_the_publisher_and_the_worker_refuse_to_start_without_a_queue_key() -> None:
    env = {
        name: value for name, value in os.environ.items() if name not in ("ESCRUTINIO_DEV", "DJANGO_DEBUG")
    }
    env |= {"DJANGO_SECRET_KEY": "a-production-secret-key", "VOTE_QUEUE_KEY": "", "CELERY_METRICS_PORT": "0"}
    publisher = [sys.executable, "-c", "import ingest_pubsub.asgi"]  # what gunicorn loads first
    worker = [sys.executable, "-m", "celery", "-A", "election", "worker", "-Q", "votes", "--pool", "threads"]
    for command in (publisher, worker):
        result = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert result.returncode != 0
        assert "ImproperlyConfigured: VOTE_QUEUE_KEY is not set" in result.stderr

    env["VOTE_QUEUE_KEY"] = "a-production-queue-key"
    result = subprocess.run(publisher, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_requeue_moves_each_entry_atomically_and_republishes_what_a_crash_left(
    redis_client: redis.Redis,
) -> None:
    parked = [signed_vote(), signed_vote()]
    left_by_a_crash = signed_vote()
    for vote in parked:
        redis_client.rpush(DEAD_LETTER_KEY, json.dumps({"vote": vote, "reason": "database unavailable"}))
    redis_client.rpush(
        REQUEUEING_KEY, json.dumps({"vote": left_by_a_crash, "reason": "database unavailable"})
    )

    assert dead_letters_requeue() == 3
    assert redis_client.llen(DEAD_LETTER_KEY) == 0 and redis_client.llen(REQUEUEING_KEY) == 0
    queued = [_votes(json.loads(raw)) for raw in redis_client.lrange(QUEUE_KEY, 0, -1)]
    # Each as it was parked, signature included, in a message of its own.
    assert sorted(queued, key=str) == sorted([[vote] for vote in [*parked, left_by_a_crash]], key=str)
    assert dead_letters_requeue() == 0


# --- helpers -----------------------------------------------------------------


def _envelope(votes: list[dict[str, Any]], like: dict[str, Any] | None = None) -> dict[str, Any]:
    """A record_batch message as kombu's Redis transport stores it on the queue list: a copy
    of `like` with another body and ids, or one made from nothing."""
    task_id, tag = str(uuid.uuid4()), str(uuid.uuid4())
    embed = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}
    body = base64.b64encode(json.dumps([[votes], {}, embed]).encode()).decode()
    if like is not None:
        headers = {**like["headers"], "id": task_id, "root_id": task_id}
        properties = {**like["properties"], "correlation_id": task_id, "delivery_tag": tag}
        return {**like, "body": body, "headers": headers, "properties": properties}
    return {
        "body": body,
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": {"lang": "py", "task": "escrutinio.votes.record_batch", "id": task_id, "retries": 0},
        "properties": {
            "correlation_id": task_id,
            "delivery_mode": 2,
            "delivery_info": {"exchange": "", "routing_key": "votes"},
            "priority": 0,
            "body_encoding": "base64",
            "delivery_tag": tag,
        },
    }


def _votes(message: dict[str, Any]) -> list[dict[str, str]]:
    body = (
        base64.b64decode(message["body"])
        if message["properties"].get("body_encoding") == "base64"
        else message["body"]
    )
    args, _, _ = json.loads(body)
    return list(args[0])


@pytest.mark.django_db
@pytest.mark.usefixtures("few_mesas")
def test_a_votes_mesa_travels_signed_and_cannot_be_added_removed_or_changed() -> None:
    vote = vote_validate(
        {
            "sede": 7,
            "departamento": "04",
            "municipio": "0407",
            "papeleta": "Blanca",
            "partido": "UNE",
            "mesa": 4242,
        }
    )
    message = vote_to_message(vote)
    assert message["mesa"] == 4242
    assert vote_from_message(message) == vote
    without = vote_to_message(replace(vote, mesa=None))
    assert "mesa" not in without  # signed as a vote was before the field existed
    for tampered in (
        {**message, "mesa": 4243},
        {key: value for key, value in message.items() if key != "mesa"},
        {**without, "mesa": 4242},
    ):
        with pytest.raises(SignatureInvalid):
            vote_from_message(tampered)
