"""The 20 real TREP actas replayed through validation and recording, each typed twice by two
digitadores: each one's status and failed rules, computed here from its own numbers."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from election.actas.recording import actas_record
from election.actas.tallies import tallies_match_recount
from election.actas.types import ActaOutcome, ActaStatus, ValidatedActa
from election.actas.validation import acta_validate
from election.models import Mesa
from tests.support.actas import SAMPLE, typed


def expected_rules(body: dict, padron: int) -> tuple[str, ...]:  # type: ignore[type-arg]
    """The rules as the issue words them, applied to the acta's numbers as typed."""
    rules = []
    if sum(body["votes"].values()) != body["total_valid"]:
        rules.append("sum_valid")
    if body["total_valid"] + body["nulos"] + body["blancos"] != body["total_cast"]:
        rules.append("sum_cast")
    if body["total_cast"] + body["invalidos"] != body["voters"]:
        rules.append("voters")
    if body["voters"] > padron:
        rules.append("padron")
    if body["voters"] + body["ballots_unused"] != body["ballots_received"]:
        rules.append("ballots")
    return tuple(rules)


@pytest.mark.usefixtures("mesas")
def test_the_twenty_sample_actas_replayed() -> None:
    padron = dict(Mesa.objects.values_list("numero", "padron"))
    first: list[ValidatedActa] = []
    second: list[ValidatedActa] = []
    expected: dict[int, tuple[ActaStatus, tuple[str, ...]]] = {}
    for acta in SAMPLE:
        body = typed(acta["mesa"])
        rules = expected_rules(body, padron[acta["mesa"]])
        expected[acta["mesa"]] = (ActaStatus.INCONSISTENT if rules else ActaStatus.COUNTED, rules)
        for entries, who in ((first, "ana"), (second, "beto")):
            validated = acta_validate(typed(acta["mesa"], entered_by=who, acta_id=str(uuid.uuid4())))
            entries.append(replace(validated, credential=f"token:{who}"))
    pending = actas_record(actas=first, route="grpc")
    assert {r.status for r in pending} == {ActaStatus.PENDING}
    results = actas_record(actas=second, route="redis")
    print(f"\n{'acta':<38} {'mesa':>6}  {'status':<13} failed rules")
    for entry, result in zip(second, results, strict=True):
        shown = ", ".join(result.failed_rules) or "-"
        print(f"{entry.acta_id!s:<38} {entry.mesa:>6}  {result.status:<13} {shown}")
        assert result.outcome == ActaOutcome.STORED
        assert (result.status, result.failed_rules) == expected[entry.mesa]
    assert sum(status == ActaStatus.COUNTED for status, _ in expected.values()) == 11
    assert tallies_match_recount()
