"""The recording path's SQL: the multi-row INSERT of new votes and the lookup of stored
vote_ids, written by hand where the ORM's per-value work cost more than the database (each
function says the measurement). election.votes.recording decides what to write; this says how.
"""

from __future__ import annotations

import functools
import operator
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction

from election.models import Route, Vote
from election.votes.transaction import Statement
from election.votes.types import ContentKey, ValidatedVote


def stored_content(vote_ids: list[uuid.UUID]) -> dict[uuid.UUID, ContentKey]:
    """The content key of each of these vote_ids already stored.

    Raw SQL: on a small batch, building the ORM query took three times as long as the database
    took to answer it (cProfile, 8 votes: 0.9 of 1.3 ms).
    """
    db = transaction.get_connection()
    vote_id = Vote._meta.get_field("vote_id")
    quote = db.ops.quote_name
    columns = ", ".join(quote(Vote._meta.get_field(name).column) for name in _CONTENT_COLUMNS)  # type: ignore[union-attr, arg-type]
    table = quote(Vote._meta.db_table)
    key = quote(vote_id.column)  # type: ignore[arg-type]
    found: dict[uuid.UUID, ContentKey] = {}
    with db.cursor() as cursor:
        for start in range(0, len(vote_ids), _INSERT_CHUNK):
            chunk = [
                vote_id.get_db_prep_value(value, db) for value in vote_ids[start : start + _INSERT_CHUNK]
            ]
            marks = ", ".join(["%s"] * len(chunk))
            # identifiers come from the model; every value is a parameter
            cursor.execute(f"SELECT {key}, {columns} FROM {table} WHERE {key} IN ({marks})", chunk)  # noqa: S608
            for stored_id, *content in cursor.fetchall():
                found[vote_id.to_python(stored_id)] = tuple(content)  # type: ignore[assignment]
    return found


# What a vote is, for telling a duplicate from a conflict: ValidatedVote.content_key's fields.
_CONTENT_COLUMNS = ("sede", "departamento", "municipio", "papeleta", "partido", "mesa")
# The columns `votes_insert` writes, as Vote declares them.
_VOTE_COLUMNS = (
    "vote_id",
    "sede",
    "departamento",
    "municipio",
    "papeleta",
    "partido",
    "mesa",
    "route",
    "received_at",
    "stored_at",
)
_INSERT_CHUNK = 1000


def votes_insert(votes: Sequence[ValidatedVote], route: Route, stored_at: datetime) -> list[Statement]:
    """Multi-row INSERTs of new votes: what bulk_create writes, without a model instance and
    a field-by-field conversion per value (most of a large batch's cost). Only the UUID and
    the datetimes need the backend's conversion; the other values are plain text (or the mesa's
    number, or NULL)."""
    db = transaction.get_connection()  # the connection itself, not the per-thread proxy
    fields = [Vote._meta.get_field(name) for name in _VOTE_COLUMNS]
    uuid_value = _uuid_param(db)
    time_value = _datetime_param(db)
    stored = time_value(stored_at)
    quote = db.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)  # type: ignore[union-attr, arg-type]
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    table = quote(Vote._meta.db_table)
    statements: list[Statement] = []
    for start in range(0, len(votes), _INSERT_CHUNK):
        chunk = votes[start : start + _INSERT_CHUNK]
        params: list[Any] = []
        for vote in chunk:
            params += (
                uuid_value(vote.vote_id),
                vote.sede,
                vote.departamento_code,
                vote.municipio_code,
                vote.papeleta,
                vote.partido,
                vote.mesa,
                route.value,
                time_value(vote.received_at),
                stored,
            )
        values = ", ".join([row] * len(chunk))
        # identifiers come from the model; every value is a parameter
        statements.append((f"INSERT INTO {table} ({columns}) VALUES {values}", params))  # noqa: S608
    return statements


def _uuid_param(db: Any) -> Callable[[uuid.UUID], Any]:
    """A vote_id as UUIDField would send it to this database, without its per-value checks."""
    if db.features.has_native_uuid_field:  # MariaDB 10.7+, PostgreSQL
        return _same
    return operator.attrgetter("hex")


def _same(value: Any) -> Any:
    return value


def _datetime_param(db: Any) -> Callable[[datetime], Any]:
    """An aware datetime as DateTimeField would send it to this database. On MySQL/MariaDB (naive
    text in the connection's time zone) without Django's per-value checks, which cost 4 µs a
    value: two per stored vote."""
    field = Vote._meta.get_field("received_at")
    if db.vendor != "mysql" or not settings.USE_TZ:
        return functools.partial(field.get_db_prep_save, connection=db)  # type: ignore[union-attr]
    zone = db.timezone

    def mysql_text(value: datetime) -> Any:
        if value.tzinfo is zone:  # as the routes receive them (UTC)
            return str(value.replace(tzinfo=None))
        if value.tzinfo is None:  # not ours: Django warns and decides
            return field.get_db_prep_save(value, db)  # type: ignore[union-attr]
        return str(value.astimezone(zone).replace(tzinfo=None))

    return mysql_text
