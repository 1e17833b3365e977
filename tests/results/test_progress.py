"""GET /api/results/progress against a recount from the stored actas: their heads' statuses,
the counted entries' numbers and the mesas' padrón, computed here without the tallies."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from election.models import Acta, Mesa

pytestmark = pytest.mark.usefixtures("sample_actas")
URL = "/api/results/progress"


def recount(papeleta: str = "presidente", **area: str) -> dict[str, Any]:
    """The progress answer as the stored rows make it: Acta for each acta's status, ActaEntry for
    the counted numbers, Mesa for the padrón and the actas expected (one per mesa)."""
    mesas = {mesa.numero: mesa for mesa in Mesa.objects.filter(**{f"{k}_id": v for k, v in area.items()})}
    actas = list(
        Acta.objects.filter(papeleta_id=papeleta, mesa_id__in=list(mesas)).select_related("counted_entry")
    )
    by_status = {
        status: [a for a in actas if a.status == status]
        for status in ("counted", "inconsistent", "in_review", "pending")
    }
    counted = [acta.counted_entry for acta in by_status["counted"] if acta.counted_entry is not None]
    assert len(counted) == len(by_status["counted"])
    padron = sum(mesas[entry.mesa_id].padron for entry in counted)
    voters = sum(entry.voters for entry in counted)
    valid = sum(sum(entry.votes.values()) for entry in counted)
    nulos = sum(entry.nulos for entry in counted)
    blancos = sum(entry.blancos for entry in counted)

    def pct(part: int, whole: int) -> float:
        return float((Decimal(part * 100) / whole).quantize(Decimal("0.01"), ROUND_HALF_UP)) if whole else 0.0

    return {
        "actas_expected": len(mesas),
        "actas_counted": len(counted),
        "actas_inconsistent": len(by_status["inconsistent"]),
        "actas_in_review": len(by_status["in_review"]),
        "actas_pending": len(by_status["pending"]),
        "percent_counted": pct(len(counted), len(mesas)),
        "padron": padron,
        "voters": voters,
        "turnout_percent": pct(voters, padron),
        "valid": valid,
        "nulos": nulos,
        "blancos": blancos,
        "cast": valid + nulos + blancos,
    }


def get(**params: str) -> dict[str, Any]:
    response = APIClient().get(URL, params)
    assert response.status_code == 200, response.content
    return response.json()


def test_the_nationwide_progress_is_the_recount_of_the_stored_actas() -> None:
    answer = get()
    assert answer == {"papeleta": "presidente", "departamento": None, "municipio": None, **recount()}
    # Every status is present in the sample, so each count is really tested.
    assert min(answer[f"actas_{s}"] for s in ("counted", "inconsistent", "in_review", "pending")) >= 1
    assert 0 < answer["turnout_percent"] < 100 and 0 < answer["percent_counted"] < 100


@pytest.mark.parametrize(
    ("departamento", "code"), [("Guatemala", "01"), ("escuintla", "05"), ("01", "01"), ("Petén", "17")]
)
def test_a_departamentos_progress_is_its_recount(departamento: str, code: str) -> None:
    answer = get(departamento=departamento)
    assert {k: v for k, v in answer.items() if k not in ("papeleta", "departamento", "municipio")} == recount(
        departamento=code
    )


def test_a_municipios_progress_is_its_recount() -> None:
    for mesa in Mesa.objects.all():
        answer = get(departamento=mesa.departamento_id, municipio=mesa.municipio_id)
        assert answer["municipio"] is not None
        assert {
            k: v for k, v in answer.items() if k not in ("papeleta", "departamento", "municipio")
        } == recount(municipio=mesa.municipio_id)


def test_another_papeleta_has_no_acta_yet() -> None:
    answer = get(papeleta="Rosada")
    assert answer["papeleta"] == "municipal"
    assert answer["actas_expected"] == Mesa.objects.count()
    assert answer["actas_counted"] == answer["cast"] == answer["padron"] == 0
    assert answer["percent_counted"] == answer["turnout_percent"] == 0.0


def test_an_unknown_area_is_a_field_error() -> None:
    response = APIClient().get(URL, {"departamento": "Narnia"})
    assert response.status_code == 400
    assert response.json() == {"errors": {"departamento": ["Unknown departamento 'Narnia'."]}}
