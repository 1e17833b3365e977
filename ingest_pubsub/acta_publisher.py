"""The publisher's `POST /actas`: an acta admitted, then put on the Celery queue "actas".

The votes' steps (ingest_pubsub/publisher.py), for actas:
1. the token is checked on arrival, from memory: a bad one is answered 401 at once;
2. the actas that arrive while a publish is in flight wait for the next one (at most
   PUBLISHER_MAX_PENDING; past that 503 with Retry-After);
3. the publish thread (the votes' one) admits each (`grant_admit_acta`: fields, mesa within
   the token's sede unless a digitador's, the sede's rate), refuses with 409 an acta_id stored
   with other content (one bounded query per batch, as for votes: skipped when the database is
   slow, and the worker then parks such an acta), checks its arithmetic (the failed rules of
   the answer) and publishes the rest as one message (ingest_pubsub/acta_tasks.py), signed;
4. the queue is bounded by the votes' BrokerRoom: 503 with Retry-After when it is full.

Answers: 202 `{"acta_id", "route": "redis", "status": "queued", "failed_rules"}` (the acta's
status is known only once the worker has recorded it), or 400, 401, 403, 409, 429, 503 as votes.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import DatabaseError

from election.actas.checks import acta_failed_rules
from election.actas.recording import acta_conflict_message, actas_stored_content
from election.actas.types import ActaInvalid, ValidatedActa
from election.admission.actas import grant_admit_acta
from election.admission.rate_limit import Throttled
from election.admission.tokens import AccessDenied
from election.catalogue.index import CatalogueError
from election.catalogue.mesa_index import mesa_place
from election.ingest.async_batcher import GroupBatcher
from election.ingest.edge import EdgeReply, overloaded_reply, refusal_reply, unavailable_reply
from election.models import Route
from election.votes.types import StorageUnavailable
from ingest_pubsub.acta_tasks import record_actas
from ingest_pubsub.messages import acta_to_message
from ingest_pubsub.publisher import (
    CATALOGUE_UNAVAILABLE,
    QUEUE_FULL_RETRY_AFTER,
    StoredContentCheck,
    Submission,
    authenticated_submit,
    in_publish_thread,
    messages_queue,
)

logger = logging.getLogger(__name__)

QUEUE_UNAVAILABLE = "The acta queue is unavailable; nothing was queued. Retry with the same acta_id."
QUEUE_FULL = "The queue is full; nothing was queued. Retry later with the same acta_id."


class ActaConflict(Exception):
    """The acta_id is stored (or queued in the same batch) with other content: 409."""

    def __init__(self, acta: ValidatedActa) -> None:
        self.acta = acta
        super().__init__(acta_conflict_message(acta.acta_id))


ActaRefusal = ActaInvalid | AccessDenied | Throttled | ActaConflict | StorageUnavailable

_stored_check = StoredContentCheck(settings.PUBLISHER_CONFLICT_CHECK_SECONDS, query=actas_stored_content)


def publish_actas(submissions: list[Submission]) -> list[EdgeReply]:
    """Admit each acta and publish the admitted ones as one message; one reply per submission."""
    checked: list[ValidatedActa | ActaRefusal] = []
    for submission in submissions:
        try:
            checked.append(
                grant_admit_acta(submission.data, grant=submission.grant, received_at=submission.received_at)
            )
        except (ActaInvalid, AccessDenied, Throttled) as exc:
            checked.append(exc)
        except (DatabaseError, CatalogueError) as exc:  # the catalogue or the mesas could not be read
            checked.append(StorageUnavailable(f"catalogue unavailable: {exc}"))
    checked = conflicts_refuse(checked)
    valid = [acta for acta in checked if isinstance(acta, ValidatedActa)]
    queued = messages_queue(record_actas, [acta_to_message(acta) for acta in valid], "actas")
    return [_reply(acta, queued) for acta in checked]


def conflicts_refuse(checked: list[ValidatedActa | ActaRefusal]) -> list[ValidatedActa | ActaRefusal]:
    """Each admitted acta, or ActaConflict when its acta_id holds other content: stored before
    (one query for the batch, when the database answers in time) or earlier in this batch."""
    admitted = [acta for acta in checked if isinstance(acta, ValidatedActa)]
    if not admitted:
        return checked
    known: dict[uuid.UUID, Any] = dict(_stored_check.stored([acta.acta_id for acta in admitted]) or {})
    result: list[ValidatedActa | ActaRefusal] = []
    for acta in checked:
        if (
            isinstance(acta, ValidatedActa)
            and known.setdefault(acta.acta_id, acta.content()) != acta.content()
        ):
            logger.info("acta_id conflict refused", extra={"acta_id": str(acta.acta_id)})
            acta = ActaConflict(acta)
        result.append(acta)
    return result


def _failed_rules(acta: ValidatedActa) -> list[str]:
    place = mesa_place(acta.mesa)  # in memory: validation has just read it
    return list(acta_failed_rules(acta, place.padron)) if place is not None else []


def _reply(acta: ValidatedActa | ActaRefusal, queued: bool | None) -> EdgeReply:
    """The answer to one acta; `queued` is None when the queue had no room for its batch."""
    if isinstance(acta, ActaInvalid):
        return EdgeReply(400, {"errors": acta.errors})
    if isinstance(acta, AccessDenied):
        return refusal_reply(acta.kind, acta.message)
    if isinstance(acta, Throttled):
        return refusal_reply(acta.kind, acta.message, retry_after=acta.retry_after_seconds)
    if isinstance(acta, ActaConflict):
        return EdgeReply(409, {"errors": {"acta_id": [str(acta)]}})
    if isinstance(acta, StorageUnavailable):
        return unavailable_reply(CATALOGUE_UNAVAILABLE.replace("vote_id", "acta_id"))
    if queued is None:
        return overloaded_reply(QUEUE_FULL, retry_after=QUEUE_FULL_RETRY_AFTER)
    if not queued:
        return unavailable_reply(QUEUE_UNAVAILABLE)
    return EdgeReply(
        202,
        {
            "acta_id": str(acta.acta_id),
            "route": Route.REDIS.value,
            "status": "queued",
            "failed_rules": _failed_rules(acta),
        },
    )


async def _flush(submissions: list[Submission]) -> list[EdgeReply]:
    return await in_publish_thread(publish_actas, submissions)


_batcher = GroupBatcher(
    _flush, max_batch=settings.PUBLISHER_MAX_BATCH, max_pending=settings.PUBLISHER_MAX_PENDING
)


async def handle_acta(data: Any, received_at: datetime, token: str | None = None) -> EdgeReply:
    return await authenticated_submit(_batcher, Submission, data, received_at, token)


async def wait_idle() -> None:
    """Once every acta received is answered (before the publish thread stops)."""
    await _batcher.wait_idle()
    _stored_check.shutdown()
