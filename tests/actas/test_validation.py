"""acta_validate: every field's refusal, against the real catalogue and the sample's mesas."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from election.actas.types import ActaInvalid, ValidatedActa
from election.actas.validation import acta_validate
from tests.support.actas import CLEAN_MESA, SAMPLE, typed

pytestmark = pytest.mark.usefixtures("mesas")


def errors_of(data: Any) -> dict[str, list[str]]:
    with pytest.raises(ActaInvalid) as refused:
        acta_validate(data)
    return refused.value.errors


def test_every_sample_acta_validates_with_the_trep_s_own_party_names() -> None:
    for acta in SAMPLE:
        validated = acta_validate(typed(acta["mesa"]))
        assert isinstance(validated, ValidatedActa)
        assert len(validated.votes) == 22  # the presidential ballot's tickets, none left out
        assert validated.votes["VALOR-UNIONISTA"] >= 0 and "VALOR" not in validated.votes


def test_the_canonical_form() -> None:
    acta = acta_validate(typed(CLEAN_MESA, acta_id=None))
    assert acta.acta_id.version == 4  # assigned when absent, as for votes
    assert (acta.mesa, acta.departamento_code, acta.municipio_code, acta.sede) == (7791, "05", "0506", "881")
    assert acta.papeleta == "presidente" and acta.corrects is False and acta.reason is None
    assert acta.votes["WINAQ-URNG"] == typed(CLEAN_MESA)["votes"]["URNG-MAIZ WINAQ"]


def test_partidos_left_out_count_zero_and_a_sigla_or_alias_names_one() -> None:
    acta = acta_validate(typed(votes={"semilla": 10, "FCN": 2}, total_valid=12))
    assert acta.votes["SEMILLA"] == 10 and acta.votes["FCN-NACION"] == 2
    assert sum(acta.votes.values()) == 12 and len(acta.votes) == 22


def test_a_mesa_unknown_or_elsewhere_is_refused_on_the_mesa() -> None:
    assert errors_of(typed() | {"mesa": 999_999}) == {"mesa": ["Unknown mesa 999999."]}
    assert "not in sede 1" in errors_of(typed(sede=1))["mesa"][0]
    elsewhere = errors_of(typed(departamento="Guatemala", municipio="Mixco"))
    assert list(elsewhere) == ["mesa"] and "municipio 0506" in elsewhere["mesa"][0]


def test_a_partido_not_on_the_papeleta_or_unknown_is_refused() -> None:
    errors = errors_of(
        typed(votes={"VALOR": 1, "nulo": 2, "Nadie": 3, "SEMILLA": 1, "Movimiento Semilla": 2})
    )
    assert errors.keys() == {"votes"}
    assert errors["votes"] == [
        "'VALOR': partido VALOR is not on that papeleta.",
        "'nulo': partido NULO is counted in nulos or blancos.",
        "'Nadie': Unknown partido 'Nadie'.",
        "'Movimiento Semilla': partido SEMILLA is named twice (also as 'SEMILLA').",
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (-1, "Must not be negative."),
        (1.5, "Must be an integer, not a number."),
        ("3", "Must be an integer, not str."),
        (True, "Must be an integer, not a boolean."),
        (2**31, "Must be at most 2147483647."),
    ],
)
def test_a_count_must_be_a_non_negative_integer(value: Any, message: str) -> None:
    assert errors_of(typed(nulos=value)) == {"nulos": [message]}
    assert errors_of(typed(votes={"UNE": value}))["votes"] == [f"'UNE': {message}"]


def test_a_malformed_hash_is_refused_and_a_good_one_is_stored_lowercase() -> None:
    for bad in ("abc", "g" * 64, "a" * 65, 7):
        assert list(errors_of(typed(image_sha256=bad))) == ["image_sha256"]
    assert acta_validate(typed(image_sha256="AB" * 32)).image_sha256 == "ab" * 32


def test_missing_and_unknown_fields_are_named_all_at_once() -> None:
    data = typed(color="rojo")
    for name in ("voters", "entered_by", "mesa", "votes", "image_sha256"):
        del data[name]
    errors = errors_of(data)
    assert errors == {
        name: ["This field is required."]
        for name in ("voters", "entered_by", "mesa", "votes", "image_sha256")
    } | {"color": ["Unknown field."]}


def test_a_correction_needs_its_reason_and_a_bad_acta_id_is_refused() -> None:
    assert errors_of(typed(corrects=True)) == {"reason": ["A correction needs its reason."]}
    assert acta_validate(typed(corrects=True, reason="digit misread")).reason == "digit misread"
    assert errors_of(typed(acta_id="nope"))["acta_id"][0].startswith("Must be a UUID")
    assert list(errors_of(typed(corrects="yes"))) == ["corrects"]
    assert acta_validate(typed(acta_id=str(uuid.UUID(int=7, version=4)))).acta_id == uuid.UUID(
        int=7, version=4
    )


def test_not_an_object() -> None:
    assert errors_of([1]) == {"non_field_errors": ["Expected a JSON object, not a list."]}
