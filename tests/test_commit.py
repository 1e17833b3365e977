"""statements_commit on committed data: the whole transaction in one query on MariaDB, and
all or nothing whichever of its statements fails."""

from contextlib import nullcontext
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction

from election.commit import statements_commit
from election.models import AreaTally, Route, Vote
from election.services import Outcome, _votes_insert, votes_record
from tests.test_recording import make_votes, recount_matches_tallies

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
    inserts = _votes_insert(votes, Route.GRPC, datetime.now(UTC))
    with pytest.raises(IntegrityError):
        statements_commit([*inserts, unknown_partido])
    assert Vote.objects.count() == 0
    statements_commit(inserts)
    assert Vote.objects.count() == 20
