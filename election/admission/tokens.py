"""Who may report votes, and how fast: per-sede tokens and a per-sede rate limit.

Both ingest routes admit a submitted vote through `vote_admit` (the gRPC server in its
database thread) or its two halves, `token_authenticate` then `grant_admit` (the publisher: the
token at its edge, before the vote takes a place in a batch; the rest in its publish thread),
so there is one implementation of the rule:

1. the token is known (`token_authenticate`): else AccessDenied(UNAUTHENTICATED), 401;
2. the vote is valid (`vote_validate`): else VoteInvalid, 400;
3. the token is bound to the sede the vote claims (`grant_authorize`): else
   AccessDenied(FORBIDDEN), 403;
4. that sede is within its rate (election.admission.rate_limit): else Throttled, 429.

Tokens are 256 random bits, stored only as their SHA-256. A slow password hash (PBKDF2,
Argon2) protects *low-entropy* secrets from a guessing attacker who stole the table; a
random 256-bit token cannot be guessed whatever the hash, and a fast unsalted digest lets
the lookup be one dict access per vote (and a unique index), with no per-vote KDF cost.

A process keeps a copy of the active tokens' hashes in memory, and the request path only
reads it: a token check never waits on the database, so during a database outage or partition
the routes keep admitting votes with the tokens they know. A background thread (started by
`tokens_warm()` at a server's startup, or by the first check) refreshes the copy every
INGEST_TOKEN_CACHE_SECONDS, so a revocation takes effect within that time everywhere (while the
database answers); after a failed refresh it tries again RETRY_SECONDS after the end of that
attempt (a partition costs it one connect timeout per try, and costs the votes nothing).

An unknown token is refused at once (401) and asks the thread for a refresh, at most one every
MISS_RELOAD_SECONDS (asked again after a failure): a token issued a moment ago in another
process is accepted from that refresh on, within about a second of its first use; in the
process that issued or revoked it, at once. A refused token asks for no other refresh for
UNKNOWN_TOKEN_SECONDS (a bounded negative cache of UNKNOWN_TOKENS_MAX digests), so a client
stuck on a revoked token costs no query, and a flood of made-up ones at most one a second per
process.
A process that did not warm reads its first copy in its first check; if that fails, the checks
answer StorageUnavailable (503) at once until the refresher has read one. Once a copy exists,
it stays, whatever the database does.
INGEST_TOKEN, when set, is one shared token accepted for every sede (local runs, Locust).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import os
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from election.admission.credentials import AccessKind
from election.admission.rate_limit import SedeKey, sede_limiter
from election.catalogue.index import NameUnknown, catalogue_index, departamento_resolve, municipio_resolve
from election.lib.singletons import thread_ensure
from election.models import SEDE_MAX_LENGTH, IngestToken
from election.votes.fields import TextRefused, text_clean
from election.votes.types import StorageUnavailable, ValidatedVote, VoteInvalid
from election.votes.validation import sede_canonical, vote_validate

logger = logging.getLogger(__name__)

TOKEN_BYTES = 32
MISS_RELOAD_SECONDS = 1.0  # at most one refresh asked by unknown tokens per this, per process
RETRY_SECONDS = 1.0  # after a failed refresh, from its end
UNKNOWN_TOKEN_SECONDS = 5.0  # a refused token asks for no refresh again for this long
UNKNOWN_TOKENS_MAX = 10_000  # refused tokens remembered, oldest forgotten first


class AccessDenied(Exception):
    def __init__(self, kind: AccessKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(frozen=True, slots=True)
class Grant:
    """What a token allows: one sede, or every sede (the shared INGEST_TOKEN)."""

    sede: SedeKey | None
    token_id: int | None = None
    digitador: str | None = None  # a digitador's token: any mesa's actas, no votes


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
    try:  # the rule of a vote's sede: a token for a sede no vote can name would be useless
        text = text_clean(str(sede), limit=SEDE_MAX_LENGTH)
    except TextRefused as refused:
        raise VoteInvalid({"sede": [str(refused)]}) from refused
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
    grant = Grant((departamento_code, municipio_code, canonical), row.pk)
    _tokens.local_change(lambda grants: grants.__setitem__(row.token_hash, grant))
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
    _tokens.local_change(lambda grants: _grants_drop(grants, lambda grant: grant.token_id == token_id))
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
    key = (departamento_code, municipio_code, canonical)
    _tokens.local_change(lambda grants: _grants_drop(grants, lambda grant: grant.sede == key))
    logger.info(
        "ingest tokens revoked", extra={"municipio": municipio_code, "sede": canonical, "count": revoked}
    )
    return revoked


def _grants_drop(grants: dict[str, Grant], revoked: Callable[[Grant], bool]) -> None:
    for digest in [digest for digest, grant in grants.items() if revoked(grant)]:
        del grants[digest]


def tokens_list(*, include_revoked: bool = False) -> QuerySet[IngestToken]:
    rows = IngestToken.objects.select_related("departamento", "municipio").order_by("pk")
    return rows if include_revoked else rows.filter(revoked_at__isnull=True)


# --- Authentication and authorization -------------------------------------------


class _TokenCache:
    """The active tokens' hashes: read by the request path, refreshed by a background thread.

    Every change of the copy carries a stamp: a load installs its result only if nothing newer
    (a load started later, a local issue or revocation, `forget`) changed the copy since it
    started, so a slow load never brings back a token revoked meanwhile.
    """

    def __init__(self) -> None:
        self._grants: dict[str, Grant] | None = None  # None: no copy yet
        self._stamp = 0  # bumped by each load's start and each local change
        self._copy_stamp = 0  # the stamp of what the copy reflects
        self._unknown: OrderedDict[str, float] = OrderedDict()  # digest -> asks again after
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._requested = False  # an unknown token asked for a refresh
        self._loaded_at = -math.inf  # end of the last load that worked (monotonic)
        self._started_at = -math.inf  # start of the last attempt
        self._retry_at = -math.inf  # no attempt before this: RETRY_SECONDS after a failure's end
        self._first_load = threading.Lock()
        self._first_tried = False  # a check read the first copy itself (or tried to)
        self._refresher: threading.Thread | None = None
        self._refresher_pid = 0
        self.attempts = 0  # loads started, for the tests and the logs

    def lookup(self, digest: str) -> Grant | None:
        """The grant of a token's digest, from memory; None when unknown (a refresh is asked)."""
        grants = self._grants
        if grants is None:
            grants = self._first_copy(wait=False)
        elif self._refresher_pid != os.getpid():
            self._refresher_ensure()
        grant = grants.get(digest)
        if grant is None:
            self._missed(digest)
        return grant

    def warm(self) -> None:
        self._first_copy(wait=True)

    def _first_copy(self, *, wait: bool) -> dict[str, Grant]:
        """The copy; read now in this thread by `warm`, or by the first check of a process that
        did not warm. Once that was tried, the refresher tries again, and checks do not wait:
        StorageUnavailable until it succeeds."""
        if not self._first_load.acquire(blocking=wait):
            raise StorageUnavailable("ingest tokens unavailable: being read")
        try:
            if self._grants is None and (wait or not self._first_tried):
                self._first_tried = True
                self._attempt()
        finally:
            self._first_load.release()
            self._refresher_ensure()
        grants = self._grants
        if grants is None:
            raise StorageUnavailable("ingest tokens unavailable: could not read them yet")
        return grants

    def _missed(self, digest: str) -> None:
        now = time.monotonic()
        with self._lock:
            if self._unknown.get(digest, -math.inf) > now:
                return  # refused a moment ago: it asked for its refresh then
            self._unknown[digest] = now + UNKNOWN_TOKEN_SECONDS
            self._unknown.move_to_end(digest)
            while len(self._unknown) > UNKNOWN_TOKENS_MAX:
                self._unknown.popitem(last=False)
            if not self._requested:
                self._requested = True
                self._wake.notify()

    def local_change(self, change: Callable[[dict[str, Grant]], None]) -> None:
        """Apply an issue or a revocation this process just wrote to its copy, at once; a load
        that started before it (and may not have seen it) is not installed."""
        with self._lock:
            self._stamp += 1
            self._copy_stamp = self._stamp
            if self._grants is not None:
                # In place: the request path's single dict.get never sees a half-made change
                # (GIL), and issuing thousands of tokens copies nothing.
                change(self._grants)

    def forget(self) -> None:
        """Drop the copy (tests): the next check loads it again."""
        with self._lock:
            self._stamp += 1
            self._grants, self._copy_stamp = None, self._stamp
            self._unknown.clear()
            self._loaded_at = self._started_at = self._retry_at = -math.inf
            self._first_tried = False

    def _attempt(self, *, stamp: int | None = None, own_connection: bool = False) -> bool:
        """Read the table once and install it unless something newer changed the copy since
        `stamp` (taken now when None); False when it failed.

        `own_connection`: the refresher's thread, whose connection is closed after each attempt
        (the caller of a first load keeps its own, perhaps inside a transaction).
        """
        if stamp is None:
            with self._lock:
                stamp = self._attempt_start()
        try:
            rows = IngestToken.objects.filter(revoked_at__isnull=True).values_list(
                "pk", "token_hash", "departamento_id", "municipio_id", "sede", "digitador"
            )
            grants = {digest: _grant(pk, dep, mun, sede, name) for pk, digest, dep, mun, sede, name in rows}
        except Exception as exc:  # DatabaseError, or anything else: the copy stays, the thread lives
            with self._lock:
                self._retry_at = time.monotonic() + RETRY_SECONDS  # from the END of the attempt
            logger.warning(
                "could not reload ingest tokens; using the last copy",
                extra={"error": str(exc), "has_copy": self._grants is not None},
            )
            return False
        finally:
            # A new connection for each attempt: a connection frozen by a partition would hold
            # the next attempt for DB_READ_TIMEOUT; a new one gives up after DB_CONNECT_TIMEOUT.
            if own_connection:
                connection.close()
        with self._lock:
            if stamp > self._copy_stamp:
                self._grants, self._copy_stamp = grants, stamp
            self._loaded_at = time.monotonic()
            self._retry_at = -math.inf
        return True

    def _attempt_start(self) -> int:
        """(Under the lock.) The stamp of an attempt that starts now."""
        self._stamp += 1
        self._started_at = time.monotonic()
        self.attempts += 1
        return self._stamp

    def _refresher_ensure(self) -> None:
        with self._lock:
            self._refresher = thread_ensure(self._refresher, self._refresh_forever, "token-refresh")
            self._refresher_pid = os.getpid()  # the request path's cheap test for a forked child

    def _refresh_forever(self) -> None:
        while True:
            stamp, requested = self._refresh_due_wait()
            if not self._attempt(stamp=stamp, own_connection=True) and requested:
                with self._lock:
                    self._requested = True  # those tokens are still unknown: again, after the back-off

    def _refresh_due_wait(self) -> tuple[int, bool]:
        """Wait until a refresh is due: its stamp, taken with the decision (one lock hold), and
        whether an unknown token asked for it."""
        with self._lock:
            while True:
                now = time.monotonic()
                due = self._loaded_at + settings.INGEST_TOKEN_CACHE_SECONDS
                if self._requested:
                    due = min(due, self._started_at + MISS_RELOAD_SECONDS)
                due = max(due, self._retry_at)
                if now >= due:
                    requested, self._requested = self._requested, False
                    return self._attempt_start(), requested
                # Woken by a request; else at most a second, to follow a changed setting (tests).
                self._wake.wait(min(due - now, 1.0))


_tokens = _TokenCache()


def _grant(pk: int, departamento: str | None, municipio: str | None, sede: str, digitador: str) -> Grant:
    if digitador:
        return Grant(None, pk, digitador)
    assert departamento and municipio
    return Grant((departamento, municipio, sede), pk)


def token_issue_digitador(*, digitador: str, label: str = "") -> tuple[str, IngestToken]:
    """A new token for a digitador, who may type any mesa's actas (and report no vote)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    row = IngestToken.objects.create(token_hash=token_hash(token), digitador=digitador, label=label)
    _tokens.local_change(lambda grants: grants.__setitem__(row.token_hash, Grant(None, row.pk, digitador)))
    logger.info("digitador token issued", extra={"token_id": row.pk})
    return token, row


def tokens_warm() -> None:
    """Load this process's copy of the tokens now, and start its refresher (a server's startup).

    Raises StorageUnavailable when the table cannot be read; afterwards no check waits on the
    database. Without it, the first check loads the copy.
    """
    _tokens.warm()


def token_authenticate(token: str | None) -> Grant:
    """What `token` allows, or AccessDenied(UNAUTHENTICATED); from memory, never waiting on the
    database (StorageUnavailable only while this process never loaded the tokens)."""
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
    if grant.digitador is not None:
        raise AccessDenied(AccessKind.FORBIDDEN, "A digitador's token submits actas, not votes.")
    if grant.sede is not None and grant.sede != claimed:
        departamento, municipio, sede = grant.sede
        raise AccessDenied(
            AccessKind.FORBIDDEN,
            f"This token is for sede {sede} of municipio {municipio} (departamento {departamento}); "
            f"the vote claims sede {vote.sede} of {vote.municipio}, {vote.departamento}.",
        )


def vote_admit(data: Mapping[str, Any] | Any, *, token: str | None, received_at: datetime) -> ValidatedVote:
    """The one gate of both ingest routes: authenticate, validate, authorize, rate-limit.

    Raises AccessDenied, VoteInvalid or Throttled (in that order of checks), or
    StorageUnavailable when the tokens cannot be read at all. Never touches the database
    on the hot path: the catalogue and the tokens are cached in the process.
    """
    return grant_admit(data, grant=token_authenticate(token), received_at=received_at)


def grant_admit(data: Mapping[str, Any] | Any, *, grant: Grant, received_at: datetime) -> ValidatedVote:
    """`vote_admit` after `token_authenticate`: validate, authorize, rate-limit."""
    vote = vote_validate(data, received_at=received_at)
    grant_authorize(grant, vote)
    sede_limiter.take((vote.departamento_code, vote.municipio_code, vote.sede))
    return vote
