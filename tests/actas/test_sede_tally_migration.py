"""Migration 0013 fills the heads' sede and the per-sede tallies from the actas already counted,
as the recording transaction would have: the same rows as a recount."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from election.actas.tallies import tallies_match_recount
from election.models import Acta, ActaSedeTally, ActaSedeTotal, Mesa
from tests.support.acta_counts import sample_actas_record

pytestmark = pytest.mark.usefixtures("mesas")
MIGRATION = importlib.import_module("election.migrations.0013_acta_sede_tallies")


def test_the_actas_counted_before_the_migration_are_tallied_per_sede() -> None:
    sample_actas_record()
    assert ActaSedeTally.objects.filter(ballots__gt=0).count() > 1
    Acta.objects.update(sede="")  # as 0013 finds the heads: no sede yet
    ActaSedeTally.objects.all().delete()
    ActaSedeTotal.objects.all().delete()
    assert not tallies_match_recount()
    MIGRATION.counted_actas_add(apps, None)
    sedes = dict(Mesa.objects.values_list("numero", "sede"))
    assert all(sedes[mesa] == sede for mesa, sede in Acta.objects.values_list("mesa_id", "sede"))
    assert tallies_match_recount()
