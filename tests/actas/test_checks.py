"""Each rule of the acta's arithmetic, alone; and the sample's actas as the rules read them."""

from __future__ import annotations

from typing import Any

import pytest

from election.actas.checks import acta_failed_rules, numbers_failed_rules
from election.actas.types import RULES
from election.actas.validation import acta_validate
from tests.support.actas import CLEAN_MESA, typed

# An acta whose every rule holds: 100 valid + 5 nulos + 3 blancos = 108 cast, 2 invalid,
# 110 voters of a padrón of 120, 200 ballots received and 90 unused.
GOOD = {
    "votes_sum": 100,
    "total_valid": 100,
    "nulos": 5,
    "blancos": 3,
    "total_cast": 108,
    "invalidos": 2,
    "voters": 110,
    "padron": 120,
    "ballots_received": 200,
    "ballots_unused": 90,
}


def failed(**changes: Any) -> tuple[str, ...]:
    return numbers_failed_rules(**(GOOD | changes))


def test_all_hold() -> None:
    assert failed() == ()


@pytest.mark.parametrize(
    ("changes", "rules"),
    [
        ({"votes_sum": 99}, ("sum_valid",)),
        ({"total_cast": 109, "invalidos": 1}, ("sum_cast",)),
        ({"invalidos": 3}, ("voters",)),
        ({"padron": 109}, ("padron",)),
        ({"padron": 110}, ()),  # as many voters as the padrón: allowed
        ({"ballots_unused": 89}, ("ballots",)),
        ({"total_valid": 101}, ("sum_valid", "sum_cast")),
        ({"voters": 300}, ("voters", "padron", "ballots")),
    ],
)
def test_each_rule(changes: dict[str, int], rules: tuple[str, ...]) -> None:
    assert failed(**changes) == rules
    assert set(rules) <= set(RULES)


@pytest.mark.usefixtures("mesas")
def test_a_validated_acta_is_checked_against_its_mesa_s_padron() -> None:
    acta = acta_validate(typed(CLEAN_MESA))
    assert acta_failed_rules(acta, padron=acta.voters) == ()
    assert acta_failed_rules(acta, padron=acta.voters - 1) == ("padron",)
