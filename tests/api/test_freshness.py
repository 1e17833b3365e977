"""RecentVersion: while votes arrive, the results version is re-read at most every RESULTS_MAX_AGE_MS."""

import time
from typing import Any

import pytest

from election.api.views import RecentVersion
from tests.api.conftest import KNOWN_VOTES, record

pytestmark = pytest.mark.django_db


def test_the_version_is_reread_only_after_max_age(settings: Any, redis_client: Any) -> None:
    settings.RESULTS_MAX_AGE_MS = 300
    version = RecentVersion()
    before = version.get()
    record(KNOWN_VOTES[:1])
    assert version.get() == before  # within max age: the answer may be up to 300 ms old
    time.sleep(0.35)
    assert version.get() != before  # then the new votes show
