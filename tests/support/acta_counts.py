"""The sample actas recorded as a results night would see them: counted, inconsistent,
pending and in review, through the real recording path (election.actas.recording)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from election.actas.recording import actas_record
from election.actas.types import ValidatedActa
from election.actas.validation import acta_validate
from election.catalogue.mesa_index import mesa_index_clear
from election.models import Mesa
from tests.support.actas import CLEAN_MESA, SAMPLE, sample_mesas_load, typed

# Each sample mesa's fate, by its position in the sample: two agreeing entries (counted, or
# inconsistent when its typing breaks a rule), one entry (pending), two that disagree (in review);
# CLEAN_MESA, which breaks no rule, is counted.
AGREEING, SINGLE, DISAGREEING = "agreeing", "single", "disagreeing"
FATES = [AGREEING, AGREEING, SINGLE, DISAGREEING]


def entry(mesa: int, entered_by: str, **changes: Any) -> ValidatedActa:
    """A sample acta as `entered_by` types it, with a credential of their own."""
    acta = acta_validate(typed(mesa, entered_by=entered_by, acta_id=str(uuid.uuid4())) | changes)
    return replace(acta, credential=f"token:{entered_by}")


def fate_of(position: int) -> str:
    return FATES[position % len(FATES)]


def sample_actas_record() -> dict[int, str]:
    """Every sample acta recorded by its fate; mesa -> fate."""
    fates: dict[int, str] = {}
    for position, sample in enumerate(SAMPLE):
        mesa = sample["mesa"]
        fate = AGREEING if mesa == CLEAN_MESA else fate_of(position)
        first = entry(mesa, "ana")
        if fate == AGREEING:
            second = entry(mesa, "beto")
        elif fate == DISAGREEING:
            second = entry(mesa, "beto", nulos=first.nulos + 3)
        actas_record(actas=[first], route="grpc")
        if fate != SINGLE:
            actas_record(actas=[second], route="redis")
        fates[mesa] = fate
    return fates


@pytest.fixture
def sample_mesas(db: None) -> Iterator[dict[int, Mesa]]:
    """The 20 sample mesas, in the test's transaction; both in-memory copies forget them after."""
    mesas = sample_mesas_load()
    mesa_index_clear()
    yield mesas
    mesa_index_clear()
    mesa_index_clear()


@pytest.fixture
def sample_actas(sample_mesas: dict[int, Mesa]) -> dict[int, str]:
    return sample_actas_record()
