"""Who may report votes, and how fast: per-sede tokens and a per-sede rate limit.

Both ingest routes admit a submitted vote through `vote_admit` (the publisher in its publish
thread, the gRPC server in its database thread), so there is one implementation of the rule:

1. the token is known (`token_authenticate`): else AccessDenied(UNAUTHENTICATED), 401;
2. the vote is valid (`vote_validate`): else VoteInvalid, 400;
3. the token is bound to the sede the vote claims (`grant_authorize`): else
   AccessDenied(FORBIDDEN), 403;
4. that sede is within its rate (`SedeRateLimiter`): else Throttled, 429.

Tokens are 256 random bits, stored only as their SHA-256. A slow password hash (PBKDF2,
Argon2) protects *low-entropy* secrets from a guessing attacker who stole the table; a
random 256-bit token cannot be guessed whatever the hash, and a fast unsalted digest lets
the lookup be one dict access per vote (and a unique index), with no per-vote KDF cost.

A process keeps the active tokens' hashes in memory for INGEST_TOKEN_CACHE_SECONDS, so a
vote costs no database query; a revocation takes effect within that time everywhere. An
unknown token reloads the table at most once a second (a new token works at once).
INGEST_TOKEN, when set, is one shared token accepted for every sede (local runs, Locust).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from election.catalogue import NameUnknown, catalogue_index, departamento_resolve, municipio_resolve
from election.models import IngestToken
from election.services import StorageUnavailable, ValidatedVote, VoteInvalid, sede_canonical, vote_validate

logger = logging.getLogger(__name__)

SedeKey = tuple[str, str, str]  # (departamento code, municipio code, canonical sede)
TOKEN_BYTES = 32
MISS_RELOAD_SECONDS = 1.0


class AccessKind(StrEnum):
    UNAUTHENTICATED = "unauthenticated"  # HTTP 401, gRPC UNAUTHENTICATED
    FORBIDDEN = "forbidden"  # HTTP 403, gRPC PERMISSION_DENIED


class AccessDenied(Exception):
    def __init__(self, kind: AccessKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


class Throttled(Exception):
    """The sede sends faster than its rate; nothing was done, retry with the same vote_id."""

    def __init__(self, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return f"Too many votes from this sede; retry in {self.retry_after_seconds} s with the same vote_id."

    @property
    def retry_after_seconds(self) -> int:
        return max(1, int(self.retry_after + 0.999))


@dataclass(frozen=True, slots=True)
class Grant:
    """What a token allows: one sede, or every sede (the shared INGEST_TOKEN)."""

    sede: SedeKey | None
    token_id: int | None = None


# --- Tokens: issue, revoke, list ----------------------------------------------


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def sede_key(*, departamento: str, municipio: str, sede: str | int) -> SedeKey:
    """A sede named as the field names it, resolved through the catalogue like a vote's."""
    index = catalogue_index()
    try:
        area = departamento_resolve(str(departamento), index)
        town = municipio_resolve(str(municipio), area, index)
    except NameUnknown as exc:
        raise VoteInvalid({"sede": [str(exc)]}) from exc
    text = " ".join(str(sede).split())
    if not text:
        raise VoteInvalid({"sede": ["This field may not be blank."]})
    return area.code, town.code, sede_canonical(text)


def token_issue(
    *, departamento: str, municipio: str, sede: str | int, label: str = ""
) -> tuple[str, IngestToken]:
    """A new token for one sede: returns the token (shown once, never stored) and its row."""
    departamento_code, municipio_code, canonical = sede_key(
        departamento=departamento, municipio=municipio, sede=sede
    )
    token = secrets.token_urlsafe(TOKEN_BYTES)
    row = IngestToken.objects.create(
        token_hash=token_hash(token),
        departamento_id=departamento_code,
        municipio_id=municipio_code,
        sede=canonical,
        label=label,
    )
    _tokens.forget()
    logger.info(
        "ingest token issued", extra={"token_id": row.pk, "municipio": municipio_code, "sede": canonical}
    )
    return token, row


def token_revoke(*, token_id: int) -> bool:
    """Revoke one token; False when there is no such active token."""
    with transaction.atomic():
        revoked = IngestToken.objects.filter(pk=token_id, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
    _tokens.forget()
    if revoked:
        logger.info("ingest token revoked", extra={"token_id": token_id})
    return bool(revoked)


def tokens_revoke_for_sede(*, departamento: str, municipio: str, sede: str | int) -> int:
    """Revoke every active token of one sede; returns how many."""
    departamento_code, municipio_code, canonical = sede_key(
        departamento=departamento, municipio=municipio, sede=sede
    )
    revoked = IngestToken.objects.filter(
        departamento_id=departamento_code,
        municipio_id=municipio_code,
        sede=canonical,
        revoked_at__isnull=True,
    ).update(revoked_at=timezone.now())
    _tokens.forget()
    logger.info(
        "ingest tokens revoked", extra={"municipio": municipio_code, "sede": canonical, "count": revoked}
    )
    return revoked


def tokens_list(*, include_revoked: bool = False) -> QuerySet[IngestToken]:
    rows = IngestToken.objects.select_related("departamento", "municipio").order_by("pk")
    return rows if include_revoked else rows.filter(revoked_at__isnull=True)


# --- Authentication and authorization -------------------------------------------


class _TokenCache:
    """The active tokens' hashes, reloaded every INGEST_TOKEN_CACHE_SECONDS (thread-safe)."""

    def __init__(self) -> None:
        self._grants: dict[str, Grant] = {}
        self._loaded_at: float | None = None
        self._lock = threading.Lock()

    def lookup(self, digest: str) -> Grant | None:
        with self._lock:
            now = time.monotonic()
            if self._loaded_at is None or now - self._loaded_at >= settings.INGEST_TOKEN_CACHE_SECONDS:
                self._reload(now)
            grant = self._grants.get(digest)
            if grant is None and self._loaded_at is not None and now - self._loaded_at >= MISS_RELOAD_SECONDS:
                self._reload(now)  # perhaps issued a moment ago; at most once a second
                grant = self._grants.get(digest)
            return grant

    def forget(self) -> None:
        with self._lock:
            self._loaded_at = None

    def _reload(self, now: float) -> None:
        try:
            rows = IngestToken.objects.filter(revoked_at__isnull=True).values_list(
                "pk", "token_hash", "departamento_id", "municipio_id", "sede"
            )
            self._grants = {digest: Grant((dep, mun, sede), pk) for pk, digest, dep, mun, sede in rows}
        except DatabaseError as exc:
            if self._loaded_at is None:
                raise StorageUnavailable(f"ingest tokens unavailable: {exc}") from exc
            # Keep the copy we have (revocations wait for the database) and try again shortly.
            logger.warning("could not reload ingest tokens; using the last copy", extra={"error": str(exc)})
            self._loaded_at = now - settings.INGEST_TOKEN_CACHE_SECONDS + MISS_RELOAD_SECONDS
            return
        self._loaded_at = now


_tokens = _TokenCache()


def token_authenticate(token: str | None) -> Grant:
    """What `token` allows, or AccessDenied(UNAUTHENTICATED)."""
    if not token:
        raise AccessDenied(
            AccessKind.UNAUTHENTICATED, "Send the sede's credential as 'Authorization: Bearer <token>'."
        )
    shared = settings.INGEST_TOKEN
    if shared and hmac.compare_digest(token.encode("utf-8"), shared.encode("utf-8")):
        return Grant(sede=None)
    grant = _tokens.lookup(token_hash(token))
    if grant is None:
        raise AccessDenied(AccessKind.UNAUTHENTICATED, "Unknown or revoked token.")
    return grant


def grant_authorize(grant: Grant, vote: ValidatedVote) -> None:
    """AccessDenied(FORBIDDEN) unless the grant covers the sede the vote claims."""
    claimed = (vote.departamento_code, vote.municipio_code, vote.sede)
    if grant.sede is not None and grant.sede != claimed:
        departamento, municipio, sede = grant.sede
        raise AccessDenied(
            AccessKind.FORBIDDEN,
            f"This token is for sede {sede} of municipio {municipio} (departamento {departamento}); "
            f"the vote claims sede {vote.sede} of {vote.municipio}, {vote.departamento}.",
        )


def vote_authorize(*, vote: ValidatedVote, token: str | None) -> None:
    """AccessDenied unless `token` is known and may report votes of the vote's sede."""
    grant_authorize(token_authenticate(token), vote)


# --- Rate limit ---------------------------------------------------------------------


class SedeRateLimiter:
    """A token bucket per sede, in this process: INGEST_RATE_PER_SEDE votes/s, bursts of
    INGEST_RATE_BURST. Per process: N processes admit up to N times the rate (see SECURITY.md)."""

    MAX_SEDES = 100_000

    def __init__(self) -> None:
        self._buckets: dict[SedeKey, tuple[float, float]] = {}  # sede -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, sede: SedeKey) -> None:
        rate, burst = float(settings.INGEST_RATE_PER_SEDE), float(settings.INGEST_RATE_BURST)
        if rate <= 0:
            return  # off (benchmarks)
        with self._lock:
            now = time.monotonic()
            tokens, at = self._buckets.get(sede, (burst, now))
            tokens = min(burst, tokens + (now - at) * rate)
            if tokens < 1:
                self._buckets[sede] = (tokens, now)
                raise Throttled(retry_after=(1 - tokens) / rate)
            self._buckets[sede] = (tokens - 1, now)
            if len(self._buckets) > self.MAX_SEDES:
                self._prune(now, rate, burst)

    def _prune(self, now: float, rate: float, burst: float) -> None:
        """Forget full buckets (a sede idle long enough): bounded memory, same behaviour."""
        self._buckets = {
            sede: (tokens, at)
            for sede, (tokens, at) in self._buckets.items()
            if tokens + (now - at) * rate < burst
        }

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()


sede_limiter = SedeRateLimiter()


def vote_admit(data: Mapping[str, Any] | Any, *, token: str | None, received_at: datetime) -> ValidatedVote:
    """The one gate of both ingest routes: authenticate, validate, authorize, rate-limit.

    Raises AccessDenied, VoteInvalid or Throttled (in that order of checks), or
    StorageUnavailable when the tokens cannot be read at all. Never touches the database
    on the hot path: the catalogue and the tokens are cached in the process.
    """
    grant = token_authenticate(token)
    vote = vote_validate(data, received_at=received_at)
    grant_authorize(grant, vote)
    sede_limiter.take((vote.departamento_code, vote.municipio_code, vote.sede))
    return vote
