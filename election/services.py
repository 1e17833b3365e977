"""Writes: validating a reported vote and recording batches of them.

Both ingest routes call exactly these two functions; nothing else decides what a valid vote
is or how one is stored.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import DatabaseError, IntegrityError, OperationalError, connection
from django.utils import timezone

from election import metrics, tallies
from election.catalogue import (
    Area,
    CatalogueIndex,
    NameUnknown,
    catalogue_index,
    departamento_resolve,
    municipio_resolve,
    papeleta_resolve,
    partido_resolve,
)
from election.commit import Statement, statements_commit
from election.models import SEDE_MAX_LENGTH, Route
from election.vote_fields import ACCEPTED_FIELDS, TextRefused, json_type_name, text_clean
from election.vote_sql import stored_content, votes_insert
from election.vote_types import (
    ContentKey,
    Outcome,
    RecordResult,
    StorageUnavailable,
    ValidatedVote,
    VoteInvalid,
)

logger = logging.getLogger(__name__)

NAME_MAX_LENGTH = 100
RECORD_ATTEMPTS = 5
EXAMPLE_UUID = "3f2b8c1e-9d4a-4b7e-8f00-2a6c5e1d7b90"


# --- Validation -------------------------------------------------------------


def _text(data: Mapping[str, Any], name: str, errors: dict[str, list[str]], limit: int) -> str | None:
    """The field as clean text, or None with the reason added to `errors`."""
    if name not in data or data[name] is None:
        errors[name] = ["This field is required."]
        return None
    value = data[name]
    if not isinstance(value, str):
        errors[name] = [f"Must be a string, not {json_type_name(value)}."]
        return None
    try:
        return text_clean(value, limit=limit)
    except TextRefused as refused:
        errors[name] = [str(refused)]
        return None


def _vote_id(data: Mapping[str, Any], errors: dict[str, list[str]]) -> uuid.UUID | None:
    value = data.get("vote_id")
    if value is None or value == "":
        return uuid.uuid4()
    if isinstance(value, str) and len(value) <= 36:
        try:
            vote_id = uuid.UUID(value)
        except ValueError:
            pass
        else:
            # Versions 1 to 7 of the standard variant (every generator's: uuid4, uuid7...) only:
            # MariaDB's UUID column refuses some others (version nibble >= 8 with a clock_seq_hi
            # byte from 0x01 to 0x80, which it would read back as byte-swapped), and one vote the
            # database refuses fails its whole batch.
            if vote_id.variant == uuid.RFC_4122 and 1 <= (vote_id.version or 0) <= 7:
                return vote_id
            errors["vote_id"] = [f"Must be a UUID of version 1 to 7 (RFC 9562), such as {EXAMPLE_UUID}."]
            return None
    errors["vote_id"] = [f"Must be a UUID, such as {EXAMPLE_UUID}."]
    return None


def _sede(data: Mapping[str, Any], errors: dict[str, list[str]]) -> str | None:
    value = data.get("sede")
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            errors["sede"] = ["Must not be negative."]
            return None
        if value >= 10**SEDE_MAX_LENGTH:  # checked first: str() refuses ints of over 4300 digits
            errors["sede"] = [f"Ensure this field has no more than {SEDE_MAX_LENGTH} digits."]
            return None
        value = str(value)
    elif not isinstance(value, str) and value is not None:
        errors["sede"] = [f"Must be an integer or a string, not {json_type_name(value)}."]
        return None
    text = _text({"sede": value}, "sede", errors, SEDE_MAX_LENGTH)
    return None if text is None else sede_canonical(text)


def sede_canonical(text: str) -> str:
    """A sede as stored: "007" and 7 are the same sede."""
    # isdecimal, not isdigit: "²" is a digit that int() refuses; every decimal it accepts.
    return str(int(text)) if text.isdecimal() else text


def vote_validate(data: Any, *, received_at: datetime | None = None) -> ValidatedVote:
    """Check one reported vote against the catalogue and return it in canonical form.

    Raises VoteInvalid with every field's errors at once.
    """
    if not isinstance(data, Mapping):
        raise VoteInvalid({"non_field_errors": [f"Expected a JSON object, not {json_type_name(data)}."]})
    errors: dict[str, list[str]] = {}
    for unknown in sorted(set(data) - ACCEPTED_FIELDS, key=str)[:10]:
        errors[str(unknown)[:64]] = ["Unknown field."]
    vote_id = _vote_id(data, errors)
    sede = _sede(data, errors)
    index = catalogue_index()
    departamento = _departamento(data, index, errors)
    municipio = _municipio(data, index, departamento, errors)
    papeleta = _lookup(data, "papeleta", papeleta_resolve, index, errors)
    partido = _lookup(data, "partido", partido_resolve, index, errors)
    if errors:
        raise VoteInvalid(errors)
    assert vote_id and sede and departamento and municipio and papeleta and partido
    return ValidatedVote(
        vote_id=vote_id,
        sede=sede,
        departamento_code=departamento.code,
        departamento=departamento.nombre,
        municipio_code=municipio.code,
        municipio=municipio.nombre,
        papeleta=papeleta,
        partido=partido,
        received_at=received_at or timezone.now(),
    )


def _departamento(
    data: Mapping[str, Any], index: CatalogueIndex, errors: dict[str, list[str]]
) -> Area | None:
    text = _text(data, "departamento", errors, NAME_MAX_LENGTH)
    if text is None:
        return None
    try:
        return departamento_resolve(text, index)
    except NameUnknown as exc:
        errors["departamento"] = [str(exc)]
        return None


def _municipio(
    data: Mapping[str, Any],
    index: CatalogueIndex,
    departamento: Area | None,
    errors: dict[str, list[str]],
) -> Area | None:
    text = _text(data, "municipio", errors, NAME_MAX_LENGTH)
    if text is None or departamento is None:
        return None
    try:
        return municipio_resolve(text, departamento, index)
    except NameUnknown as exc:
        errors["municipio"] = [str(exc)]
        return None


def _lookup(
    data: Mapping[str, Any],
    name: str,
    resolve: Callable[[str, CatalogueIndex], str],
    index: CatalogueIndex,
    errors: dict[str, list[str]],
) -> str | None:
    text = _text(data, name, errors, NAME_MAX_LENGTH)
    if text is None:
        return None
    try:
        return resolve(text, index)
    except NameUnknown as exc:
        errors[name] = [str(exc)]
        return None


# --- Recording --------------------------------------------------------------


def votes_record(*, votes: Sequence[ValidatedVote], route: Route | str) -> list[RecordResult]:
    """Store a batch of validated votes in one transaction, idempotently on `vote_id`.

    Returns one result per input vote, in order. A vote whose `vote_id` is already stored
    is not written again: DUPLICATE when its content matches, CONFLICT when it does not.
    Raises StorageUnavailable when the database cannot take the batch; then nothing of
    the batch was written and the caller may retry it whole.
    """
    return plan_commit(RecordPlan(votes, Route(route)))


@dataclass(frozen=True, slots=True)
class RecordPlan:
    """A batch, and what storing it will write, decided from what was stored when it looked.

    votes_record looks and commits in one go. A pipelined caller (the gRPC server) makes the
    next batch's plan (`votes_plan`) while the previous batch commits (`plan_commit`), on two
    connections.
    """

    votes: Sequence[ValidatedVote]
    route: Route
    results: list[RecordResult] | None = None  # None: not looked yet, or looking failed
    writes: list[Statement] = field(default_factory=list)


def votes_plan(*, votes: Sequence[ValidatedVote], route: Route | str) -> RecordPlan:
    """Look up a batch's vote_ids and prepare its writes; `plan_commit` stores them.

    If the lookup fails, the plan is left unmade and `plan_commit` makes it, with its own
    handling of database errors.
    """
    route = Route(route)
    try:
        results, writes = _record_plan(votes, route)
    except DatabaseError:
        connection.close()
        return RecordPlan(votes, route)
    return RecordPlan(votes, route, results, writes)


def plan_commit(plan: RecordPlan) -> list[RecordResult]:
    """Commit a plan's writes in one transaction and return its results (see votes_record).

    A plan made stale by another commit since it looked (one of its vote_ids is now stored)
    fails on the unique key: it is made again and retried, and then reports that vote as a
    duplicate.
    """
    votes, route, results, writes = plan.votes, plan.route, plan.results, plan.writes
    if not votes:
        return []
    for attempt in range(1, RECORD_ATTEMPTS + 1):
        try:
            started = time.perf_counter()
            if results is None:
                results, writes = _record_plan(votes, route)
            statements_commit(writes)
            _observe(results, route, time.perf_counter() - started)
            return results
        except IntegrityError as exc:
            if not _is_duplicate_key(exc):
                raise
            # A concurrent transaction stored one of these vote_ids after we looked:
            # the next attempt sees it and reports it as a duplicate.
            logger.info("vote_id race, retrying batch", extra={"attempt": attempt})
        except OperationalError as exc:
            if _is_connection_lost(exc) and attempt == 1:
                # A connection the server dropped while idle (a restart, a timeout): the next
                # attempt opens a new one. Had the COMMIT gone through, it sees the votes stored.
                logger.info("database connection lost, retrying batch on a new one")
                connection.close()
                results = None
                continue
            if not _is_transient_lock_error(exc):
                connection.close()  # a fresh connection next time, once the server is back
                raise StorageUnavailable(str(exc)) from exc
            logger.warning("lock conflict, retrying batch", extra={"attempt": attempt})
        except DatabaseError as exc:
            connection.close()
            raise StorageUnavailable(str(exc)) from exc
        results = None
        time.sleep(0.01 * 2**attempt)
    raise StorageUnavailable(f"batch of {len(votes)} votes failed {RECORD_ATTEMPTS} times")


def _observe(results: list[RecordResult], route: Route, seconds: float) -> None:
    metrics.RECORD_BATCH_SIZE.labels(route).observe(len(results))
    metrics.RECORD_SECONDS.labels(route).observe(seconds)
    for outcome, count in Counter(r.outcome for r in results).items():
        metrics.VOTES_RECORDED.labels(route, outcome.value).inc(count)
    latency = metrics.RECEIPT_TO_STORAGE.labels(route)
    for result in results:
        if result.stored_at is not None:
            latency.observe((result.stored_at - result.vote.received_at).total_seconds())


def _is_duplicate_key(exc: IntegrityError) -> bool:
    code = exc.args[0] if exc.args else None
    # MySQL: 1062 duplicate entry. SQLite: "UNIQUE constraint failed".
    return code == 1062 or "UNIQUE constraint" in str(exc)


# MySQL client: server gone away, connection lost (twice); MariaDB: connection killed.
_CONNECTION_LOST = (2006, 2013, 2055, 1927)


def _is_connection_lost(exc: OperationalError) -> bool:
    return bool(exc.args) and exc.args[0] in _CONNECTION_LOST


def _is_transient_lock_error(exc: OperationalError) -> bool:
    code = exc.args[0] if exc.args else None
    # MySQL: 1213 deadlock, 1205 lock wait timeout. SQLite: "database is locked".
    return code in (1205, 1213) or "locked" in str(exc)


def _record_plan(votes: Sequence[ValidatedVote], route: Route) -> tuple[list[RecordResult], list[Statement]]:
    """Each vote's outcome, from what is stored now, and the writes that store the new ones.

    A vote another transaction stores between this look and the commit makes the commit fail
    on the vote_id's unique key; votes_record then plans again and sees it.
    """
    stored_before = stored_content([vote.vote_id for vote in votes])
    stored_at = timezone.now()
    fresh: dict[uuid.UUID, ValidatedVote] = {}
    results: list[RecordResult] = []
    for vote in votes:
        earlier = fresh.get(vote.vote_id)
        known = earlier.content_key() if earlier else stored_before.get(vote.vote_id)
        if known is None:
            fresh[vote.vote_id] = vote
            results.append(RecordResult(vote, Outcome.STORED, stored_at))
        elif known == vote.content_key():
            results.append(RecordResult(vote, Outcome.DUPLICATE))
        else:
            results.append(RecordResult(vote, Outcome.CONFLICT))
    new = list(fresh.values())
    writes = votes_insert(new, route, stored_at)
    writes += tallies.tallies_statements(votes=new, route=route, stored_at=stored_at)
    return results, writes


def votes_stored_content(vote_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, ContentKey]:
    """What is stored under each of these vote_ids that is stored: one query per 1000 ids.

    For telling, before a vote is queued, that its vote_id was used for another vote (the
    publisher's 409). Raises StorageUnavailable when the database does not answer; the
    connection is then closed, so the next call opens a new one.
    """
    try:
        return stored_content(list(vote_ids))
    except DatabaseError as exc:
        connection.close()
        raise StorageUnavailable(str(exc)) from exc


def vote_conflict_message(vote_id: uuid.UUID | str) -> str:
    """Why a vote whose vote_id is stored with other content is refused (HTTP 409, ALREADY_EXISTS)."""
    return f"vote_id {vote_id} was stored before with different content; nothing changed."
