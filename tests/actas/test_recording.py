"""actas_record against the real database: idempotence, double entry, review, corrections,
the tallies moved in the same transaction and equal to a recount from the stored entries."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from election.actas.recording import actas_record
from election.actas.tallies import actas_recount, tallies_match_recount, tallies_read, tallies_rebuild
from election.actas.types import ActaOutcome, ActaStatus, ValidatedActa
from election.actas.validation import acta_validate
from election.models import (
    Acta,
    ActaEntry,
    ActaProgress,
    ActaSedeTally,
    ActaSedeTotal,
    ActaTally,
    ActaVersion,
    Mesa,
)
from tests.support.actas import CLEAN_MESA, typed

pytestmark = pytest.mark.usefixtures("mesas")


def entry(*, entered_by: str = "ana", credential: Any = None, **changes: Any) -> ValidatedActa:
    acta = acta_validate(typed(CLEAN_MESA, entered_by=entered_by, acta_id=str(uuid.uuid4())) | changes)
    return _with_credential(acta, credential or f"token:{entered_by}")


def _with_credential(acta: ValidatedActa, credential: str) -> ValidatedActa:
    from dataclasses import replace

    return replace(acta, credential=credential)


def record(*actas: ValidatedActa) -> list[Any]:
    return actas_record(actas=list(actas), route="grpc")


def head() -> Acta:
    return Acta.objects.get(mesa_id=CLEAN_MESA, papeleta_id="presidente")


def tally(sigla: str) -> int:
    row = ActaTally.objects.filter(municipio_id="0506", papeleta_id="presidente", partido_id=sigla).first()
    return row.votes if row else 0


def progress() -> dict[str, int]:
    row = ActaProgress.objects.filter(municipio_id="0506", papeleta_id="presidente").first()
    columns = ("actas_counted", "actas_pending", "actas_in_review", "actas_inconsistent", "valid", "padron")
    return {c: getattr(row, c) for c in columns} if row else {}


def sede_ballots() -> tuple[int, int]:
    """CLEAN_MESA's sede in ActaSedeTally (presidente) and in ActaSedeTotal; 0 for no row."""
    mesa = Mesa.objects.get(numero=CLEAN_MESA)
    place = {"departamento_id": mesa.departamento_id, "municipio_id": mesa.municipio_id, "sede": mesa.sede}
    on_papeleta = ActaSedeTally.objects.filter(**place, papeleta_id="presidente").first()
    total = ActaSedeTotal.objects.filter(**place).first()
    return (on_papeleta.ballots if on_papeleta else 0, total.ballots if total else 0)


def ballots_of(acta: ValidatedActa) -> int:
    return sum(acta.votes.values()) + acta.nulos + acta.blancos


def test_one_entry_is_pending_and_moves_no_vote() -> None:
    (result,) = record(entry())
    assert (result.outcome, result.status, result.failed_rules) == (
        ActaOutcome.STORED,
        ActaStatus.PENDING,
        (),
    )
    assert tally("SEMILLA") == 0 and progress()["actas_pending"] == 1
    assert tallies_match_recount()


def test_the_same_acta_id_twice_is_a_duplicate_and_other_content_a_conflict() -> None:
    first = entry()
    record(first)
    again = acta_validate(typed(CLEAN_MESA, entered_by="ana", acta_id=str(first.acta_id)))
    other = acta_validate(
        typed(CLEAN_MESA, entered_by="ana", acta_id=str(first.acta_id), nulos=first.nulos + 1)
    )
    before = tallies_read().nonzero()
    assert [(r.outcome, r.status) for r in record(again, other)] == [
        (ActaOutcome.DUPLICATE, ActaStatus.PENDING),
        (ActaOutcome.CONFLICT, ActaStatus.PENDING),
    ]
    assert ActaEntry.objects.count() == 1 and tallies_read().nonzero() == before
    # within one batch too: the first is stored, the repeat is a duplicate
    third = entry(entered_by="eva")
    assert [r.outcome for r in record(third, third)] == [ActaOutcome.STORED, ActaOutcome.DUPLICATE]


def test_two_agreeing_entries_count_and_the_tallies_move() -> None:
    first, second = entry(entered_by="ana"), entry(entered_by="beto")
    record(first)
    (result,) = record(second)
    assert result.status == ActaStatus.COUNTED
    assert tally("SEMILLA") == first.votes["SEMILLA"] > 0
    assert progress() == {
        "actas_counted": 1,
        "actas_pending": 0,
        "actas_in_review": 0,
        "actas_inconsistent": 0,
        "valid": first.total_valid,
        "padron": 350,
    }
    version = head().current_version
    assert (
        version is not None
        and version.decided_at is not None
        and version.chosen_entry.acta_id == first.acta_id  # type: ignore[union-attr]
    )
    assert tallies_match_recount()


def test_the_same_person_or_the_same_credential_twice_does_not_count() -> None:
    record(entry(entered_by="ana", credential="token:1"), entry(entered_by="beto", credential="token:1"))
    assert head().status == ActaStatus.PENDING  # two people, one credential
    record(entry(entered_by="ana", credential="token:1"))
    assert head().status == ActaStatus.PENDING and tally("SEMILLA") == 0  # one person twice
    record(entry(entered_by="carla", credential="token:3"))
    assert head().status == ActaStatus.COUNTED
    assert tallies_match_recount()


def test_disagreeing_entries_go_to_review_with_the_differing_fields() -> None:
    first = entry(entered_by="ana")
    votes = dict(typed(CLEAN_MESA)["votes"]) | {"MOVIMIENTO SEMILLA": first.votes["SEMILLA"] + 1}
    record(first, entry(entered_by="beto", votes=votes, nulos=first.nulos + 2))
    acta = head()
    assert acta.status == ActaStatus.IN_REVIEW
    assert acta.differing_fields == ["nulos", "votes.SEMILLA"]
    assert tally("SEMILLA") == 0 and progress()["actas_in_review"] == 1
    assert tallies_match_recount()


def test_agreeing_entries_that_break_a_rule_are_inconsistent_and_not_counted() -> None:
    record(entry(entered_by="ana", nulos=0), entry(entered_by="beto", nulos=0))
    acta = head()
    assert (acta.status, acta.failed_rules) == (ActaStatus.INCONSISTENT, ["sum_cast"])
    assert tally("SEMILLA") == 0 and progress()["actas_inconsistent"] == 1
    assert tallies_match_recount()


def test_a_correction_after_counted_moves_the_tallies_by_the_difference() -> None:
    first = entry(entered_by="ana")
    record(first, entry(entered_by="beto"))
    counted = tally("SEMILLA")
    votes = dict(typed(CLEAN_MESA)["votes"])
    votes["MOVIMIENTO SEMILLA"] += 5
    changed = {
        "votes": votes,
        "total_valid": first.total_valid + 5,
        "total_cast": first.total_cast + 5,
        "voters": first.voters + 5,
        "ballots_unused": first.ballots_unused - 5,
    }
    fix = {"corrects": True, "reason": "five SEMILLA votes misread"}
    record(entry(entered_by="carla", **changed, **fix))
    acta = head()
    assert acta.status == ActaStatus.COUNTED and acta.current_version.number == 2  # type: ignore[union-attr]
    assert tally("SEMILLA") == counted  # not accepted yet: the count stands
    record(entry(entered_by="dario", **changed, **fix))
    assert head().status == ActaStatus.COUNTED and tally("SEMILLA") == counted + 5
    assert progress()["actas_counted"] == 1 and progress()["valid"] == first.total_valid + 5
    assert ActaVersion.objects.filter(acta=head()).count() == 2 and ActaEntry.objects.count() == 4
    assert tallies_match_recount()


def test_the_sede_tallies_move_with_the_count_and_each_correction() -> None:
    first = entry(entered_by="ana")
    record(first)
    assert sede_ballots() == (0, 0)  # pending: nothing counted at its sede
    record(entry(entered_by="beto"))
    assert head().sede == Mesa.objects.get(numero=CLEAN_MESA).sede
    assert sede_ballots() == (ballots_of(first),) * 2 and ballots_of(first) > 0
    assert tallies_match_recount()
    votes = dict(typed(CLEAN_MESA)["votes"])
    votes["MOVIMIENTO SEMILLA"] += 4
    changed = {
        "votes": votes,
        "nulos": first.nulos + 1,
        "total_valid": first.total_valid + 4,
        "total_cast": first.total_cast + 5,
        "voters": first.voters + 5,
        "ballots_unused": first.ballots_unused - 5,
        "corrects": True,
        "reason": "cuatro votos y un nulo mal leídos",
    }
    record(entry(entered_by="carla", **changed))
    assert sede_ballots() == (ballots_of(first),) * 2  # not accepted yet: the count stands
    record(entry(entered_by="dario", **changed))
    assert sede_ballots() == (ballots_of(first) + 5,) * 2
    assert tallies_match_recount()
    broken = {"corrects": True, "reason": "nulos", "nulos": 0}
    record(entry(entered_by="eva", **broken), entry(entered_by="fede", **broken))
    assert head().status == ActaStatus.INCONSISTENT and sede_ballots() == (0, 0)
    assert tallies_match_recount()


def test_a_correction_of_a_counted_acta_that_breaks_a_rule_takes_its_votes_out() -> None:
    record(entry(entered_by="ana"), entry(entered_by="beto"))
    fix = {"corrects": True, "reason": "nulos", "nulos": 0}
    record(entry(entered_by="carla", **fix), entry(entered_by="dario", **fix))
    assert head().status == ActaStatus.INCONSISTENT and tally("SEMILLA") == 0
    assert progress()["actas_counted"] == 0 and progress()["actas_inconsistent"] == 1
    assert tallies_match_recount()


def test_one_entry_counts_when_one_is_required(settings) -> None:  # type: ignore[no-untyped-def]
    settings.ACTA_ENTRIES_REQUIRED = 1
    first = entry()
    assert record(first)[0].status == ActaStatus.COUNTED
    assert tally("SEMILLA") == first.votes["SEMILLA"]
    assert tallies_match_recount()


def test_the_recount_is_computed_from_the_entries_not_the_tallies() -> None:
    record(entry(entered_by="ana"), entry(entered_by="beto"))
    ActaTally.objects.filter(partido_id="SEMILLA").update(votes=0)
    assert not tallies_match_recount()
    assert actas_recount().votes[("05", "0506", "presidente", "SEMILLA")] > 0


def test_the_recount_of_the_sede_tallies_is_computed_from_the_entries() -> None:
    first = entry(entered_by="ana")
    record(first, entry(entered_by="beto"))
    assert tallies_match_recount()
    for model in (ActaSedeTally, ActaSedeTotal):
        model.objects.update(ballots=1)  # the other one still right
        assert not tallies_match_recount()
        tallies_rebuild()
        assert tallies_match_recount() and sede_ballots() == (ballots_of(first),) * 2
    sede = Mesa.objects.get(numero=CLEAN_MESA).sede
    recount = actas_recount()
    assert recount.sedes[("05", "0506", sede, "presidente")] == ballots_of(first)
    assert recount.sede_totals[("05", "0506", sede)] == ballots_of(first)
