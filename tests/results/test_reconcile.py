"""`manage.py reconcile` finds tallies that drifted from the vote table or the acta entries, and
--fix repairs them."""

import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from election.actas.recording import actas_record
from election.actas.tallies import tallies_match_recount
from election.actas.validation import acta_validate
from election.models import ActaProgress, ActaSedeTally, ActaSedeTotal, ActaTally, AreaTally, SedeTotal
from election.results.reconciliation import ledger_reconcile, tally_differences
from election.votes.recording import votes_record
from tests.support.acta_routes import sample_mesas_committed
from tests.support.actas import CLEAN_MESA, typed
from tests.support.votes import make_votes, recount_matches_tallies


def test_agreeing_tallies_report_nothing(committed_db: None) -> None:
    votes_record(votes=make_votes(30), route="grpc")
    assert tally_differences() == []
    call_command("reconcile")


def test_drift_is_reported_then_repaired(committed_db: None) -> None:
    votes_record(votes=make_votes(30), route="redis")
    row = AreaTally.objects.order_by("pk").first()
    assert row is not None
    AreaTally.objects.filter(pk=row.pk).update(votes=row.votes + 5)  # an incident's damage
    SedeTotal.objects.order_by("pk")[:1].get().delete()
    differences = tally_differences()
    assert {d.tally for d in differences} == {"AreaTally", "SedeTotal"}
    with pytest.raises(CommandError, match="2 tally rows disagree"):
        call_command("reconcile")
    call_command("reconcile", "--fix")
    assert tally_differences() == []
    recount_matches_tallies()
    if connection.vendor == "mysql":  # the tables were unlocked again
        votes_record(votes=make_votes(3, seed=100), route="grpc")


@pytest.mark.django_db
def test_a_ledger_with_a_lost_and_an_altered_vote(redis_client: object) -> None:
    stored, never_stored = make_votes(3), make_votes(1, seed=50)[0]
    votes_record(votes=stored, route="grpc")
    acknowledged = {str(v.vote_id): v.canonical() for v in [*stored, never_stored]}
    acknowledged[str(stored[0].vote_id)] = {**stored[0].canonical(), "partido": "OTRO"}
    report = ledger_reconcile(acknowledged=acknowledged, sent=acknowledged)
    assert (report.acknowledged, report.stored) == (4, 3)
    assert report.lost == [str(never_stored.vote_id)]
    assert report.altered == [str(stored[0].vote_id)]
    assert not report.whole


@pytest.fixture
def sample_mesas(committed_db: None) -> Iterator[None]:
    """The sample mesas committed, and gone again after the test with the actas that hold them."""
    with sample_mesas_committed():
        yield


def test_acta_tally_drift_is_reported_then_repaired(sample_mesas: None) -> None:
    first = acta_validate(typed(CLEAN_MESA, entered_by="ana", acta_id=str(uuid.uuid4())))
    second = acta_validate(typed(CLEAN_MESA, entered_by="luis", acta_id=str(uuid.uuid4())))
    actas_record(
        actas=[replace(first, credential="token:1"), replace(second, credential="token:2")], route="grpc"
    )
    assert tally_differences() == []
    row = ActaTally.objects.order_by("pk").first()
    assert row is not None
    ActaTally.objects.filter(pk=row.pk).update(votes=row.votes + 7)  # an incident's damage
    ActaProgress.objects.update(actas_counted=0)
    assert {d.tally for d in tally_differences()} == {"ActaTally", "ActaProgress.actas_counted"}
    with pytest.raises(CommandError, match="2 tally rows disagree"):
        call_command("reconcile")
    call_command("reconcile", "--fix")
    assert tally_differences() == []
    assert tallies_match_recount()


def test_acta_sede_tally_drift_is_reported_then_repaired(sample_mesas: None) -> None:
    first = acta_validate(typed(CLEAN_MESA, entered_by="ana", acta_id=str(uuid.uuid4())))
    second = acta_validate(typed(CLEAN_MESA, entered_by="luis", acta_id=str(uuid.uuid4())))
    actas_record(
        actas=[replace(first, credential="token:1"), replace(second, credential="token:2")], route="grpc"
    )
    assert tally_differences() == []
    [row] = ActaSedeTally.objects.all()
    ballots = row.ballots
    ActaSedeTally.objects.update(ballots=ballots - 3)  # an incident's damage
    ActaSedeTotal.objects.all().delete()
    differences = {d.tally: (d.key, d.counted, d.tallied) for d in tally_differences()}
    sede = (row.departamento_id, row.municipio_id, row.sede)
    assert differences == {
        "ActaSedeTally": ((*sede, "presidente"), ballots, ballots - 3),
        "ActaSedeTotal": (sede, ballots, 0),
    }
    with pytest.raises(CommandError, match="2 tally rows disagree"):
        call_command("reconcile")
    call_command("reconcile", "--fix")
    assert tally_differences() == []
    assert tallies_match_recount()
    assert ActaSedeTally.objects.get().ballots == ActaSedeTotal.objects.get().ballots == ballots
