"""A few mesas (JRV) in the catalogue, for tests of what names a mesa: votes and actas."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from election.catalogue.mesa_index import mesa_index_clear
from election.models import Mesa

# (numero, departamento code, municipio code, sede, padron): two mesas of sede 7 of Patzún
# (Chimaltenango), one of its sede 2, and one of sede 7 of Mixco (Guatemala).
FEW_MESAS = [
    (4242, "04", "0407", "7", 300),
    (4243, "04", "0407", "7", 280),
    (4250, "04", "0407", "2", 350),
    (1513, "01", "0108", "7", 400),
]


@pytest.fixture
def few_mesas(db: None) -> Iterator[list[Mesa]]:
    """FEW_MESAS in the test's transaction; the in-memory index forgets them after the test,
    whose rollback no signal announces."""
    mesas = Mesa.objects.bulk_create(
        Mesa(numero=n, departamento_id=d, municipio_id=m, sede=s, padron=p) for n, d, m, s, p in FEW_MESAS
    )
    mesa_index_clear()  # bulk_create sends no signal
    yield mesas
    mesa_index_clear()
