"""What start-up made is out of the full collection's sight once the server serves."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from election.lib.gc_freeze import startup_objects_freeze


@pytest.fixture
def unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()


def test_a_full_collection_no_longer_walks_what_start_up_made(unfrozen: None) -> None:
    loaded = [{"module": n} for n in range(20_000)]  # as imports and caches leave behind
    gc.collect()
    assert len(gc.get_objects(generation=2)) > 20_000

    startup_objects_freeze()

    assert gc.get_freeze_count() > 20_000
    assert len(gc.get_objects(generation=2)) < 1_000
    assert gc.isenabled()
    del loaded
