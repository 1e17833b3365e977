"""The form of a vote, and of an acta, on the queue: small JSON, the same for the publisher
and the tasks.

Each is signed: an HMAC-SHA256 over its fields with VOTE_QUEUE_KEY, a secret only the
publisher and the workers hold. Anyone who can reach the broker Redis can LPUSH a message,
but without the key cannot make one the worker stores: an unsigned or altered vote fails
`vote_from_message` (an acta `acta_from_message`) with SignatureInvalid and is parked in the
dead letters (tasks.py). A vote's signed fields and an acta's differ in number, so neither's
signature can pass for the other's.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import hmac
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from election.actas.validation import acta_validate

from election.actas.types import COUNT_FIELDS, ValidatedActa
from election.votes.types import ValidatedVote
from election.votes.validation import vote_validate

QueuedVote = dict[str, str]
QueuedActa = dict[str, Any]

# The signed fields, in the order the signature reads them.
SIGNED_FIELDS = ("vote_id", "sede", "departamento", "municipio", "papeleta", "partido", "received_at")
ACTA_SIGNED_FIELDS = (
    "acta_id",
    "mesa",
    "departamento",
    "municipio",
    "sede",
    "papeleta",
    "votes",
    *COUNT_FIELDS,
    "image_sha256",
    "entered_by",
    "corrects",
    "reason",
    "received_at",
    "credential",  # who typed it, as admission found: the worker cannot ask the token again
)
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
    return message_sign(
        {
            "vote_id": str(vote.vote_id),
            "sede": vote.sede,
            "departamento": vote.departamento_code,
            "municipio": vote.municipio_code,
            "papeleta": vote.papeleta,
            "partido": vote.partido,
            "received_at": vote.received_at.isoformat(),
        }
    )


def message_sign(fields: dict[str, Any], signed: Sequence[str] = SIGNED_FIELDS) -> dict[str, Any]:
    """`fields` (exactly `signed`: a vote's SIGNED_FIELDS, an acta's ACTA_SIGNED_FIELDS) with
    their signature."""
    return {**fields, SIGNATURE: _signature(fields, signed)}


def vote_from_message(message: Any) -> ValidatedVote:
    """Check the signature, then validate the vote again (cheap, in memory).

    Raises SignatureInvalid, then VoteInvalid, ValueError or TypeError."""
    fields = _verified(message, SIGNED_FIELDS, "vote")
    received_at = datetime.fromisoformat(fields.pop("received_at"))
    return vote_validate(fields, received_at=received_at)


def acta_to_message(acta: ValidatedActa) -> QueuedActa:
    """The admitted acta with its receipt time and credential, signed; places as INE codes,
    partidos as siglas (what `acta_validate` reads back whatever the catalogue renames)."""
    fields: dict[str, Any] = {
        "acta_id": str(acta.acta_id),
        "mesa": acta.mesa,
        "departamento": acta.departamento_code,
        "municipio": acta.municipio_code,
        "sede": acta.sede,
        "papeleta": acta.papeleta,
        "votes": dict(acta.votes),
        **{name: getattr(acta, name) for name in COUNT_FIELDS},
        "image_sha256": acta.image_sha256,
        "entered_by": acta.entered_by,
        "corrects": acta.corrects,
        "reason": acta.reason,
        "received_at": acta.received_at.isoformat(),
        "credential": acta.credential,
    }
    return message_sign(fields, ACTA_SIGNED_FIELDS)


def acta_from_message(message: Any) -> ValidatedActa:
    """Check the signature, then validate the acta again, with the credential it was admitted
    with. Raises SignatureInvalid, then ActaInvalid, ValueError or TypeError."""
    fields = _verified(message, ACTA_SIGNED_FIELDS, "acta")
    received_at = datetime.fromisoformat(fields.pop("received_at"))
    credential = fields.pop("credential")
    if not isinstance(credential, str):
        raise TypeError(f"credential must be a string, not {type(credential).__name__}")
    acta = acta_validate(fields, received_at=received_at)
    return dataclasses.replace(acta, credential=credential)


def _verified(message: Any, signed: Sequence[str], noun: str) -> dict[str, Any]:
    if not isinstance(message, dict):
        raise SignatureInvalid(f"expected a signed {noun}, not {type(message).__name__}")
    fields = dict(message)
    signature = fields.pop(SIGNATURE, None)
    if not isinstance(signature, str):
        raise SignatureInvalid(f"the {noun} is unsigned")
    if set(fields) != set(signed):
        raise SignatureInvalid(f"the signed fields are {', '.join(signed)}, not {', '.join(sorted(fields))}")
    if not hmac.compare_digest(signature, _signature(fields, signed)):
        raise SignatureInvalid(f"the signature does not match the {noun} (altered, or another key)")
    return fields


def _signature(fields: dict[str, Any], signed: Sequence[str]) -> str:
    # A JSON list in a fixed order (an acta's votes with their keys sorted): no two different
    # messages read the same. A vote's fields are all text, so its bytes are as they always were.
    text = json.dumps(
        [fields[name] for name in signed], ensure_ascii=False, separators=(",", ":"), sort_keys=True
    )
    return hmac.new(queue_key(), text.encode(), hashlib.sha256).hexdigest()
