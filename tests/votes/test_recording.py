"""votes_record against the real database: idempotent on vote_id, one transaction per batch."""

import threading
import time
from collections import Counter
from dataclasses import replace

import pytest
from django.db import OperationalError, connection, connections
from django.test.utils import CaptureQueriesContext

from election.models import MesaTally, SedeTotal, Vote
from election.votes.recording import votes_record
from election.votes.types import Outcome, ValidatedVote
from election.votes.validation import vote_validate
from tests.support.mesas import few_mesas  # noqa: F401  # a fixture
from tests.support.votes import make_votes, recount_matches_tallies


@pytest.mark.django_db
def test_a_batch_is_stored_and_tallied() -> None:
    votes = make_votes(40)
    results = votes_record(votes=votes, route="grpc")
    assert [r.outcome for r in results] == [Outcome.STORED] * 40
    assert Vote.objects.count() == 40
    stored = Vote.objects.get(vote_id=votes[0].vote_id)
    assert (stored.municipio_id, stored.route, stored.sede) == ("0407", "grpc", "0")
    assert stored.received_at == votes[0].received_at
    assert stored.stored_at >= stored.received_at
    recount_matches_tallies()


@pytest.mark.django_db
def test_the_same_batch_twice_stores_each_vote_once() -> None:
    votes = make_votes(25)
    votes_record(votes=votes, route="redis")
    again = votes_record(votes=votes, route="redis")
    assert [r.outcome for r in again] == [Outcome.DUPLICATE] * 25
    assert Vote.objects.count() == 25
    recount_matches_tallies()


@pytest.mark.django_db
def test_a_vote_repeated_inside_one_batch_is_stored_once() -> None:
    vote = make_votes(1)[0]
    results = votes_record(votes=[vote, vote, vote], route="grpc")
    assert [r.outcome for r in results] == [Outcome.STORED, Outcome.DUPLICATE, Outcome.DUPLICATE]
    assert Vote.objects.count() == 1
    recount_matches_tallies()


@pytest.mark.django_db
def test_a_reused_vote_id_with_other_content_is_a_conflict_and_changes_nothing() -> None:
    vote = make_votes(1)[0]
    votes_record(votes=[vote], route="grpc")
    forged = replace(vote, partido="SEMILLA" if vote.partido != "SEMILLA" else "UNE")
    assert votes_record(votes=[forged], route="redis")[0].outcome is Outcome.CONFLICT
    assert Vote.objects.get().partido_id == vote.partido
    recount_matches_tallies()


@pytest.mark.django_db
def test_a_1000_vote_batch_is_one_transaction() -> None:
    votes = make_votes(1000)
    with CaptureQueriesContext(connection) as queries:
        votes_record(votes=votes, route="grpc")
    assert Vote.objects.count() == 1000
    # One existence check, one multi-row INSERT, four tally upserts: no per-vote round trip.
    statements = [q["sql"] for q in queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 6, [sql[:80] for sql in statements]
    recount_matches_tallies()


def test_concurrent_writers_of_overlapping_batches_store_each_vote_once(committed_db: None) -> None:
    votes = make_votes(600)
    batches = [votes[0:400], votes[200:600], votes[100:500], votes[::-1]]
    outcomes: list[Outcome] = []
    errors: list[BaseException] = []

    def write(batch: list[ValidatedVote]) -> None:
        try:
            for start in range(0, len(batch), 50):
                outcomes.extend(
                    r.outcome for r in votes_record(votes=batch[start : start + 50], route="grpc")
                )
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(batch,)) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert Counter(outcomes)[Outcome.STORED] == 600
    assert Vote.objects.count() == 600
    recount_matches_tallies()


@pytest.mark.django_db
def test_sedes_that_differ_only_in_case_are_two_sedes_everywhere() -> None:
    base = {"departamento": "Peten", "municipio": "Flores", "papeleta": "Blanca", "partido": "UNE"}
    votes = [vote_validate({**base, "sede": sede}) for sede in ("Escuela A", "escuela a", "Escuela A")]
    votes_record(votes=votes, route="grpc")
    assert sorted(SedeTotal.objects.values_list("sede", "votes")) == [("Escuela A", 2), ("escuela a", 1)]
    recount_matches_tallies()
    assert Vote.objects.filter(sede="escuela a").count() == 1


@pytest.mark.skipif("connection.vendor != 'mysql'", reason="KILL is MariaDB/MySQL's")
def test_a_connection_the_server_dropped_is_replaced_without_failing_the_batch(committed_db: None) -> None:
    votes_record(votes=make_votes(1), route="grpc")
    dropped = connection.connection.thread_id()
    admin = connections.create_connection("default")
    try:
        with admin.cursor() as cursor:
            cursor.execute("KILL %s", [dropped])
    finally:
        admin.close()
    results = votes_record(votes=make_votes(5, seed=1), route="grpc")
    assert [r.outcome for r in results] == [Outcome.STORED] * 5
    assert connection.connection.thread_id() != dropped
    assert Vote.objects.count() == 6


@pytest.mark.skipif("connection.vendor != 'mysql'", reason="the driver's read timeout is MySQLdb's")
def test_a_reply_that_never_comes_fails_the_call_instead_of_holding_the_thread(
    committed_db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from importlib import reload

    from election import settings as configured

    with monkeypatch.context() as env:
        env.setenv("DB_READ_TIMEOUT", "1")
        options = reload(configured).DATABASES["default"]["OPTIONS"]
    reload(configured)  # as it was
    assert options["read_timeout"] == 1
    frozen = connections.create_connection("default")
    frozen.settings_dict = {**frozen.settings_dict, "OPTIONS": options}
    started = time.monotonic()
    try:
        with pytest.raises(OperationalError), frozen.cursor() as cursor:
            cursor.execute("SELECT SLEEP(30)")  # a server that does not answer for 30 s
    finally:
        frozen.close()
    assert time.monotonic() - started < 10  # the client's timeout, with its retries


# --- Votes that name their mesa ---------------------------------------------------


def _at_mesa(mesa: int | None, partido: str = "VAMOS", papeleta: str = "Blanca") -> ValidatedVote:
    data = {"sede": 7, "departamento": "Chimaltenango", "municipio": "Patzun", "papeleta": papeleta}
    return vote_validate({**data, "partido": partido, **({} if mesa is None else {"mesa": mesa})})


@pytest.mark.usefixtures("few_mesas")
def test_a_votes_mesa_is_stored_and_tallied_per_mesa() -> None:
    votes = [_at_mesa(4242), _at_mesa(4242), _at_mesa(4242, "UNE"), _at_mesa(4243), _at_mesa(None)]
    votes += [_at_mesa(4242, "NULO", papeleta="Rosada")]
    votes_record(votes=votes, route="grpc")
    assert Vote.objects.get(vote_id=votes[0].vote_id).mesa == 4242
    assert Vote.objects.get(vote_id=votes[4].vote_id).mesa is None
    assert {(t.mesa, t.papeleta_id, t.partido_id): t.votes for t in MesaTally.objects.all()} == {
        (4242, "presidente", "VAMOS"): 2,
        (4242, "presidente", "UNE"): 1,
        (4243, "presidente", "VAMOS"): 1,
        (4242, "municipal", "NULO"): 1,
    }
    recount_matches_tallies()


@pytest.mark.usefixtures("few_mesas")
def test_a_batch_without_mesas_writes_no_mesa_tally() -> None:
    with CaptureQueriesContext(connection) as captured:
        votes_record(votes=make_votes(10), route="grpc")
    assert not [q for q in captured.captured_queries if "election_mesatally" in q["sql"]]
    assert not MesaTally.objects.exists()


@pytest.mark.usefixtures("few_mesas")
def test_the_mesa_is_part_of_what_makes_a_duplicate() -> None:
    vote = _at_mesa(4242)
    votes_record(votes=[vote], route="grpc")
    assert votes_record(votes=[vote], route="redis")[0].outcome is Outcome.DUPLICATE
    # The same vote_id naming another mesa, or none, is another vote: refused, nothing changes.
    for other in (replace(vote, mesa=4243), replace(vote, mesa=None)):
        assert votes_record(votes=[other], route="redis")[0].outcome is Outcome.CONFLICT
    assert Vote.objects.get().mesa == 4242
    assert {(t.mesa, t.votes) for t in MesaTally.objects.all()} == {(4242, 1)}
    recount_matches_tallies()


@pytest.mark.usefixtures("few_mesas")
def test_a_vote_without_mesa_then_with_one_is_a_conflict() -> None:
    vote = _at_mesa(None)
    votes_record(votes=[vote], route="grpc")
    assert votes_record(votes=[replace(vote, mesa=4242)], route="grpc")[0].outcome is Outcome.CONFLICT
    assert not MesaTally.objects.exists()
