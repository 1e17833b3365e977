"""The form of a vote on the queue: small JSON, the same for the publisher and the tasks.

Each vote is signed: an HMAC-SHA256 over its fields with VOTE_QUEUE_KEY, a secret only the
publisher and the workers hold. Anyone who can reach the broker Redis can LPUSH a message,
but without the key cannot make one the worker stores: an unsigned or altered vote fails
`vote_from_message` with SignatureInvalid and is parked in the dead letters (tasks.py).

A vote that names its mesa carries it as `mesa` (a number), signed after the other fields; a
vote without one carries no `mesa`, and is signed exactly as before the field existed.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from election.votes.types import ValidatedVote
from election.votes.validation import vote_validate

QueuedVote = dict[str, Any]

# The signed fields, in the order the signature reads them; then MESA, when the vote names one.
SIGNED_FIELDS = ("vote_id", "sede", "departamento", "municipio", "papeleta", "partido", "received_at")
MESA = "mesa"
SIGNATURE = "signature"


class SignatureInvalid(ValueError):
    """The message was not signed with this deployment's VOTE_QUEUE_KEY: forged or altered."""


@functools.cache
def queue_key() -> bytes:
    """VOTE_QUEUE_KEY, read once. The publisher (ingest_pubsub/asgi.py) and the worker
    (ingest_pubsub/tasks.py, QueueKeyRequired) call it at start, so they refuse to start
    without it rather than at the first vote."""
    key = settings.VOTE_QUEUE_KEY
    if not key:
        raise ImproperlyConfigured(
            "VOTE_QUEUE_KEY is not set. Set it to the same secret for the publisher and the "
            "workers (production), or set DJANGO_DEBUG=1 or ESCRUTINIO_DEV=1 for a local run, "
            "which derives one from the secret key."
        )
    return str(key).encode()


def vote_to_message(vote: ValidatedVote) -> QueuedVote:
    """The validated vote with its receipt time, signed.

    Departamento and municipio travel as INE codes, not names: vote_validate accepts both,
    and a code still resolves if the catalogue renames the place while the vote is queued.
    """
    fields: dict[str, Any] = {
        "vote_id": str(vote.vote_id),
        "sede": vote.sede,
        "departamento": vote.departamento_code,
        "municipio": vote.municipio_code,
        "papeleta": vote.papeleta,
        "partido": vote.partido,
        "received_at": vote.received_at.isoformat(),
    }
    if vote.mesa is not None:
        fields[MESA] = vote.mesa
    return message_sign(fields)


def message_sign(fields: dict[str, Any]) -> QueuedVote:
    """`fields` (exactly SIGNED_FIELDS, and MESA or not) with their signature."""
    return {**fields, SIGNATURE: _signature(fields)}


def vote_from_message(message: Any) -> ValidatedVote:
    """Check the signature, then validate the vote again (cheap, in memory).

    Raises SignatureInvalid, then VoteInvalid, ValueError or TypeError."""
    fields = _verified(message)
    received_at = datetime.fromisoformat(fields.pop("received_at"))
    return vote_validate(fields, received_at=received_at)


def _verified(message: Any) -> dict[str, Any]:
    if not isinstance(message, dict):
        raise SignatureInvalid(f"expected a signed vote, not {type(message).__name__}")
    fields = dict(message)
    signature = fields.pop(SIGNATURE, None)
    if not isinstance(signature, str):
        raise SignatureInvalid("the vote is unsigned")
    if set(fields) - {MESA} != set(SIGNED_FIELDS):
        raise SignatureInvalid(
            f"the signed fields are {', '.join(SIGNED_FIELDS)} (and {MESA}), not {', '.join(sorted(fields))}"
        )
    if not hmac.compare_digest(signature, _signature(fields)):
        raise SignatureInvalid("the signature does not match the vote (altered, or another key)")
    return fields


def _signature(fields: dict[str, Any]) -> str:
    # A JSON list in a fixed order: no two different votes read the same (the mesa, when there
    # is one, makes it a list of eight: removing or adding it breaks the signature).
    names = (*SIGNED_FIELDS, MESA) if MESA in fields else SIGNED_FIELDS
    signed = json.dumps([fields[name] for name in names], ensure_ascii=False, separators=(",", ":"))
    return hmac.new(queue_key(), signed.encode(), hashlib.sha256).hexdigest()
