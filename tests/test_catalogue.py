from collections import Counter

import pytest
from django.apps import apps

from election.catalogue import CatalogueError, build_index, load_catalogue, name_key
from election.models import Departamento, Municipio, MunicipioAlias, Papeleta, Partido

pytestmark = pytest.mark.django_db

# From the catalogue's README: municipios per departamento, in departamento code order.
MUNICIPIOS_PER_DEPARTAMENTO = [
    17,
    8,
    16,
    16,
    14,
    14,
    19,
    8,
    24,
    21,
    9,
    30,
    33,
    21,
    8,
    17,
    14,
    5,
    11,
    11,
    7,
    17,
]


def test_loaded_catalogue_has_22_departamentos_and_340_municipios() -> None:
    assert Departamento.objects.count() == 22
    assert Municipio.objects.count() == 340
    per_departamento = Counter(Municipio.objects.values_list("departamento_id", flat=True))
    assert [per_departamento[code] for code in sorted(per_departamento)] == MUNICIPIOS_PER_DEPARTAMENTO
    assert MunicipioAlias.objects.count() == 39
    assert Papeleta.objects.count() == 5
    assert Partido.objects.count() == 26


def test_municipio_codes_belong_to_their_departamento() -> None:
    for code, departamento in Municipio.objects.values_list("code", "departamento_id"):
        assert code[:2] == departamento


def test_loading_again_changes_nothing() -> None:
    before = list(Municipio.objects.values_list("code", "nombre", "departamento_id"))
    counts = load_catalogue(apps)
    assert counts["municipio"] == 340
    assert list(Municipio.objects.values_list("code", "nombre", "departamento_id")) == before


def test_an_ambiguous_alias_is_refused() -> None:
    # An alias that names a different municipio in the same departamento makes names ambiguous.
    MunicipioAlias.objects.create(municipio_id="0101", alias="Mixco")
    with pytest.raises(CatalogueError, match="ambiguous"):
        build_index()


@pytest.mark.parametrize(
    ("written", "key"),
    [("Petén", "peten"), ("PETEN", "peten"), ("  San  José ", "san jose"), ("FCN-Nación", "fcn nacion")],
)
def test_name_key_ignores_case_accents_and_punctuation(written: str, key: str) -> None:
    assert name_key(written) == key
