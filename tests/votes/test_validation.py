"""Every catalogue rule of vote_validate, with the field-level error it must give."""

import uuid
from typing import Any

import pytest

from election.models import SEDE_MAX_LENGTH
from election.votes.types import VoteInvalid
from election.votes.validation import NAME_MAX_LENGTH, vote_validate
from tests.support.mesas import few_mesas  # noqa: F401  # a fixture

pytestmark = pytest.mark.django_db

FIELD_VOTE = {
    "sede": 7,
    "municipio": "Patzun",
    "departamento": "Chimaltenango",
    "papeleta": "Blanca",
    "partido": "VAMOS",
}


def errors_of(data: Any) -> dict[str, list[str]]:
    with pytest.raises(VoteInvalid) as caught:
        vote_validate(data)
    return caught.value.errors


def with_(**changes: Any) -> dict[str, Any]:
    return {**FIELD_VOTE, **changes}


def test_the_original_field_format_validates_to_canonical_names() -> None:
    vote = vote_validate(FIELD_VOTE)
    canonical = vote.canonical()
    assert uuid.UUID(canonical.pop("vote_id")).version == 4  # assigned, since none was sent
    assert canonical == {
        "sede": "7",
        "departamento": "Chimaltenango",
        "municipio": "Patzún",
        "papeleta": "presidente",
        "partido": "VAMOS",
    }
    assert (vote.departamento_code, vote.municipio_code) == ("04", "0407")


@pytest.mark.parametrize(
    ("field", "written", "canonical"),
    [
        ("departamento", "chimaltenango", "Chimaltenango"),
        ("departamento", "CHIMALTENANGO", "Chimaltenango"),
        ("departamento", "04", "Chimaltenango"),
        ("municipio", "PATZÚN", "Patzún"),
        ("municipio", "Tecpan", "Tecpán Guatemala"),  # alias, without its accent
        ("municipio", "Comalapa", "San Juan Comalapa"),  # short-form alias
        ("municipio", "0407", "Patzún"),  # INE code
        ("papeleta", "presidente", "presidente"),
        ("papeleta", "verde", "diputados_nacional"),
        ("papeleta", "Amarilla", "parlacen"),
        ("papeleta", "ROSADA", "municipal"),
        ("papeleta", "diputados distrital", "diputados_distrital"),
        ("partido", "FCN", "FCN-NACION"),  # legacy sigla
        ("partido", "fcn nacion", "FCN-NACION"),
        ("partido", "Movimiento Semilla", "SEMILLA"),  # full name
        ("partido", "semilla", "SEMILLA"),
        ("partido", "Valor Unionista", "VALOR-UNIONISTA"),
    ],
)
def test_legacy_spellings_are_stored_in_canonical_form(field: str, written: str, canonical: str) -> None:
    assert vote_validate(with_(**{field: written})).canonical()[field] == canonical


NULO_SPELLINGS = ["NULO", "nulo", "Nulos", "Voto nulo", "Votos nulos", "VOTOS NULOS", "voto  nulo"]
BLANCO_SPELLINGS = [
    "BLANCO",
    "blanco",
    "Blancos",
    "en blanco",
    "Voto en blanco",
    "Votos en Blanco",
    "EN BLANCO",
]


@pytest.mark.parametrize(
    ("written", "canonical"),
    [*((w, "NULO") for w in NULO_SPELLINGS), *((w, "BLANCO") for w in BLANCO_SPELLINGS)],
)
def test_a_null_or_blank_ballot_in_the_fields_spellings(written: str, canonical: str) -> None:
    assert vote_validate(with_(partido=written)).partido == canonical


@pytest.mark.parametrize(
    "written", ["nul", "voto", "votos", "blanca", "Voto anulado", "en negro", "NULO BLANCO"]
)
def test_a_near_miss_of_null_or_blank_is_still_refused(written: str) -> None:
    # "blanca" is the presidential papeleta's colour, never a partido.
    assert errors_of(with_(partido=written)) == {"partido": [f"Unknown partido '{written}'."]}


@pytest.mark.parametrize("written", ["Peten", "PETÉN", "petén", "Petén"])
def test_departamento_without_accent_is_stored_with_it(written: str) -> None:
    assert vote_validate(with_(departamento=written, municipio="Flores")).departamento == "Petén"


def test_the_departamento_of_a_homonym_municipio_decides_which_one() -> None:
    # "San José" is a municipio of both Escuintla (0509) and Petén (1702).
    in_peten = vote_validate(with_(departamento="Petén", municipio="San José"))
    in_escuintla = vote_validate(with_(departamento="Escuintla", municipio="San José"))
    assert in_peten.municipio_code.startswith("17")
    assert in_escuintla.municipio_code.startswith("05")


@pytest.mark.parametrize(
    ("sede", "stored"), [(7, "7"), ("7", "7"), ("007", "7"), (" Escuela 12 ", "Escuela 12")]
)
def test_sede_accepts_an_integer_or_a_string(sede: Any, stored: str) -> None:
    assert vote_validate(with_(sede=sede)).sede == stored


def test_a_municipio_outside_its_departamento_names_both() -> None:
    errors = errors_of(with_(departamento="Peten", municipio="Mixco"))
    assert errors == {
        "municipio": ["municipio 'Mixco' is not in departamento 'Petén' (it is in 'Guatemala')."]
    }


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"partido": "PARTIDO X"}, "partido", "Unknown partido 'PARTIDO X'."),
        ({"papeleta": "Morada"}, "papeleta", "Unknown papeleta (code or ballot colour) 'Morada'."),
        ({"departamento": "Narnia"}, "departamento", "Unknown departamento 'Narnia'."),
        ({"municipio": "Gotham"}, "municipio", "Unknown municipio 'Gotham'."),
        ({"municipio": 12}, "municipio", "Must be a string, not a number."),
        ({"partido": ["UNE"]}, "partido", "Must be a string, not a list."),
        ({"papeleta": True}, "papeleta", "Must be a string, not a boolean."),
        ({"sede": 7.5}, "sede", "Must be an integer or a string, not a number."),
        ({"sede": False}, "sede", "Must be an integer or a string, not a boolean."),
        ({"sede": -1}, "sede", "Must not be negative."),
        ({"sede": "   "}, "sede", "This field may not be blank."),
        (
            {"sede": "x" * (SEDE_MAX_LENGTH + 1)},
            "sede",
            "Ensure this field has no more than 32 characters (it has 33).",
        ),
        (
            {"municipio": "a" * (NAME_MAX_LENGTH + 1)},
            "municipio",
            "Ensure this field has no more than 100 characters (it has 101).",
        ),
        ({"partido": "UNE\x00"}, "partido", "Must not contain control characters."),
        (
            {"vote_id": "not-a-uuid"},
            "vote_id",
            "Must be a UUID, such as 3f2b8c1e-9d4a-4b7e-8f00-2a6c5e1d7b90.",
        ),
        ({"vote_id": 12345}, "vote_id", "Must be a UUID, such as 3f2b8c1e-9d4a-4b7e-8f00-2a6c5e1d7b90."),
        ({"votos": 3}, "votos", "Unknown field."),
    ],
)
def test_each_rule_gives_its_field_level_error(changes: dict[str, Any], field: str, message: str) -> None:
    assert errors_of(with_(**changes)) == {field: [message]}


@pytest.mark.parametrize("field", ["sede", "municipio", "departamento", "papeleta", "partido"])
def test_a_missing_field_is_required(field: str) -> None:
    data = dict(FIELD_VOTE)
    del data[field]
    errors = errors_of(data)
    assert errors[field] == ["This field is required."]
    if field == "departamento":  # the municipio cannot be checked without it, and says nothing
        assert set(errors) == {"departamento"}


def test_null_is_missing() -> None:
    assert errors_of(with_(partido=None)) == {"partido": ["This field is required."]}


def test_every_field_is_reported_at_once() -> None:
    errors = errors_of({"sede": [], "departamento": "X", "municipio": "Y", "papeleta": "Z"})
    assert set(errors) == {"sede", "departamento", "papeleta", "partido"}


@pytest.mark.parametrize(
    ("data", "named"), [([], "a list"), ("vote", "str"), (7, "a number"), (None, "null")]
)
def test_a_body_that_is_not_an_object(data: Any, named: str) -> None:
    # Named as the gateway names it (election.votes.fields.json_type_name): JSON null is "null".
    assert errors_of(data) == {"non_field_errors": [f"Expected a JSON object, not {named}."]}


def test_a_given_vote_id_is_kept() -> None:
    vote_id = "3f2b8c1e-9d4a-4b7e-8f00-2a6c5e1d7b90"
    assert str(vote_validate(with_(vote_id=vote_id)).vote_id) == vote_id


# --- The mesa a vote may name ---------------------------------------------------


def test_a_vote_without_a_mesa_names_none() -> None:
    vote = vote_validate(FIELD_VOTE)
    assert vote.mesa is None and "mesa" not in vote.canonical()
    assert vote.content_key()[-1] is None


@pytest.mark.parametrize("written", [4242, "4242", "04242", " 4242 "])
@pytest.mark.usefixtures("few_mesas")
def test_a_mesa_of_the_votes_sede_is_kept_as_its_number(written: Any) -> None:
    vote = vote_validate(with_(mesa=written))
    assert vote.mesa == 4242 and vote.canonical()["mesa"] == 4242
    assert vote.content_key()[-1] == 4242


@pytest.mark.usefixtures("few_mesas")
def test_null_or_blank_mesa_is_no_mesa() -> None:
    assert vote_validate(with_(mesa=None)).mesa is None
    assert vote_validate(with_(mesa="")).mesa is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"mesa": 99999}, "Unknown mesa 99999."),
        ({"mesa": 0}, "Must be a mesa (JRV) number from 1 to 2147483647."),
        ({"mesa": -3}, "Must be a mesa (JRV) number from 1 to 2147483647."),
        ({"mesa": 2**31}, "Must be a mesa (JRV) number from 1 to 2147483647."),
        ({"mesa": "12a"}, "Must be a mesa (JRV) number, such as 1513."),
        ({"mesa": 4242.0}, "Must be an integer, not a number."),
        ({"mesa": True}, "Must be an integer, not a boolean."),
        ({"mesa": [4242]}, "Must be an integer, not a list."),
        # Another sede of the same municipio
        (
            {"mesa": 4250},
            "mesa 4250 is in sede 2 of Patzún (Chimaltenango), not this vote's.",
        ),
        # The same sede number in another municipio and departamento
        (
            {"mesa": 1513},
            "mesa 1513 is in sede 7 of Mixco (Guatemala), not this vote's.",
        ),
        # A mesa of this sede, but the vote says another sede
        (
            {"mesa": 4242, "sede": "2"},
            "mesa 4242 is in sede 7 of Patzún (Chimaltenango), not this vote's.",
        ),
    ],
)
@pytest.mark.usefixtures("few_mesas")
def test_a_mesa_that_is_unknown_or_elsewhere_is_a_field_error(changes: dict[str, Any], message: str) -> None:
    assert errors_of(with_(**changes)) == {"mesa": [message]}


@pytest.mark.usefixtures("few_mesas")
def test_a_mesa_of_the_right_sede_in_another_municipio_is_refused() -> None:
    # Sede 7 exists in Mixco too: the mesa must match all three, not only the sede number.
    errors = errors_of(with_(departamento="Guatemala", municipio="Mixco", mesa=4242))
    assert errors == {"mesa": ["mesa 4242 is in sede 7 of Patzún (Chimaltenango), not this vote's."]}
    assert vote_validate(with_(departamento="Guatemala", municipio="Mixco", mesa=1513)).mesa == 1513


@pytest.mark.usefixtures("few_mesas")
def test_a_bad_place_is_named_alone_and_the_mesa_not_compared_with_it() -> None:
    assert errors_of(with_(municipio="Gotham", mesa=4242)) == {"municipio": ["Unknown municipio 'Gotham'."]}


@pytest.mark.usefixtures("few_mesas")
def test_the_mesa_check_reads_no_database(django_assert_num_queries: Any) -> None:
    vote_validate(with_(mesa=4242))  # the index, read once
    with django_assert_num_queries(0):
        for _ in range(50):
            vote_validate(with_(mesa=4243))
