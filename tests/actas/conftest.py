from __future__ import annotations

from collections.abc import Iterator

import pytest

from election.catalogue.mesa_index import mesa_index_clear
from election.models import Mesa
from tests.support.actas import sample_mesas_load


@pytest.fixture
def mesas(db) -> Iterator[dict[int, Mesa]]:  # type: ignore[no-untyped-def]
    """The 20 sample mesas, in the test's transaction; the process's copy forgotten after."""
    yield sample_mesas_load()
    mesa_index_clear()
