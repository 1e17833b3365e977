"""statements_commit on committed data: the whole transaction in one query on MariaDB, all or
nothing whichever of its statements fails, and never a connection reused after a failed rollback."""

import threading
from contextlib import nullcontext
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import MySQLdb
import pytest
from django.db import IntegrityError, OperationalError, connection, transaction

from election.models import AreaTally, Route, Vote
from election.votes.recording import votes_record
from election.votes.sql import votes_insert
from election.votes.transaction import statements_commit
from election.votes.types import Outcome
from scripts.devservices import wait_until
from tests.support.votes import make_votes, recount_matches_tallies

mariadb_only = pytest.mark.skipif(
    "connection.vendor != 'mysql'", reason="the one-query transaction is MariaDB/MySQL's"
)


@mariadb_only
def test_a_batch_is_one_lookup_and_one_query(committed_db: None) -> None:
    votes = make_votes(201)
    votes_record(votes=votes[:1], route="grpc")  # the connection is open from here on
    raw = connection.connection
    sent: list[bytes] = []
    send = raw.query

    def recorded(query: bytes) -> Any:
        sent.append(query)
        return send(query)

    raw.query = recorded
    try:
        results = votes_record(votes=votes[1:], route="grpc")
    finally:
        raw.query = send
        connection.close()
    assert [r.outcome for r in results] == [Outcome.STORED] * 200
    assert len(sent) == 2, [query[:60] for query in sent]
    assert sent[0].startswith(b"SELECT")
    assert sent[1].startswith(b"START TRANSACTION;") and sent[1].endswith(b"COMMIT")
    assert Vote.objects.count() == 201
    recount_matches_tallies()


@pytest.mark.parametrize("outer", [False, True], ids=["one query", "inside an outer transaction"])
def test_a_batch_that_fails_at_its_last_vote_stores_nothing(committed_db: None, outer: bool) -> None:
    votes = make_votes(999)
    broken = replace(make_votes(1, seed=999)[0], partido="NO-SUCH-PARTIDO")  # violates the foreign key
    with transaction.atomic() if outer else nullcontext():
        with pytest.raises(IntegrityError):
            votes_record(votes=[*votes, broken], route="grpc")
        assert Vote.objects.count() == 0
        assert AreaTally.objects.count() == 0
        # the connection takes the next batch
        assert {r.outcome for r in votes_record(votes=votes, route="grpc")} == {Outcome.STORED}
    recount_matches_tallies()


def test_a_statement_failing_after_others_undoes_them(committed_db: None) -> None:
    votes = make_votes(20)
    unknown_partido = (
        "INSERT INTO election_areatally (departamento_id, municipio_id, papeleta_id, partido_id, votes) "
        "VALUES (%s, %s, %s, %s, %s)",
        [votes[0].departamento_code, votes[0].municipio_code, votes[0].papeleta, "NO-SUCH-PARTIDO", 1],
    )
    inserts = votes_insert(votes, Route.GRPC, datetime.now(UTC))
    with pytest.raises(IntegrityError):
        statements_commit([*inserts, unknown_partido])
    assert Vote.objects.count() == 0
    statements_commit(inserts)
    assert Vote.objects.count() == 20


@mariadb_only
def test_a_connection_whose_rollback_failed_is_not_reused(committed_db: None) -> None:
    """A transaction killed mid-way (KILL CONNECTION, as a failover or an operator would) fails,
    and so does its rollback: that connection is closed, and the next batch of the same thread
    goes on a new one. Reused, it fails the next batch (server gone), or, still alive with the
    transaction open, lets the next START TRANSACTION commit the first statements of the old."""
    votes = make_votes(2)
    first, second = (votes_insert([vote], Route.GRPC, datetime.now(UTC)) for vote in votes)
    blocked = threading.Event()
    outcome: dict[str, Any] = {}

    def batches() -> None:  # one thread, one Django connection
        try:
            connection.ensure_connection()
            outcome["killed_id"] = connection.connection.thread_id()
            blocked.set()
            try:
                statements_commit(first)  # waits on the table lock until killed
            except Exception as exc:
                outcome["first"] = exc
            statements_commit(second)  # no retry here: it must find a connection that works
            with connection.cursor() as cursor:
                cursor.execute("SELECT CONNECTION_ID()")
                outcome["next_id"] = cursor.fetchone()[0]
        except Exception as exc:
            outcome["error"] = exc
        finally:
            connection.close()

    settings = connection.settings_dict
    locker = MySQLdb.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=int(settings["PORT"] or 3306),
        user=settings["USER"] or "root",
        password=settings["PASSWORD"] or "",
        database=settings["NAME"],
    )
    try:
        lock = locker.cursor()
        lock.execute(f"LOCK TABLES {Vote._meta.db_table} WRITE")
        thread = threading.Thread(target=batches)
        thread.start()
        assert blocked.wait(30)
        wait_until(lambda: _waiting_on_lock(lock, outcome["killed_id"]), 30, "the batch waiting on the lock")
        lock.execute(f"KILL CONNECTION {int(outcome['killed_id'])}")
        lock.execute("UNLOCK TABLES")
        thread.join(30)
    finally:
        locker.close()

    assert "error" not in outcome, outcome.get("error")
    assert isinstance(outcome["first"], OperationalError)
    assert outcome["next_id"] != outcome["killed_id"]
    assert list(Vote.objects.values_list("vote_id", flat=True)) == [votes[1].vote_id]


def _waiting_on_lock(cursor: Any, connection_id: int) -> bool:
    cursor.execute("SELECT STATE FROM information_schema.PROCESSLIST WHERE ID = %s", [connection_id])
    row = cursor.fetchone()
    return bool(row and row[0] and "lock" in row[0].lower())
