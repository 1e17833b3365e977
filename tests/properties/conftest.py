"""Hypothesis profiles for the property tests, and the count of inputs each test tried.

HYPOTHESIS_PROFILE picks the profile: `ci` (the default: a few hundred inputs per test, the
whole folder in about a minute) or `thorough` (thousands per test, for a run before a release).
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, event, settings

settings.register_profile(
    "ci",
    max_examples=300,
    deadline=None,  # real processes over HTTP: a slow example is the machine, not a bug
    print_blob=True,  # a failure prints the blob that replays it (@reproduce_failure)
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile("thorough", parent=settings.get_profile("ci"), max_examples=5000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

INPUTS_TRIED: Counter[str] = Counter()
OUTCOMES: defaultdict[str, Counter[str]] = defaultdict(Counter)
_running = [""]
F = TypeVar("F", bound=Callable[..., Any])


def counted(test: F) -> F:
    """Count every input the test body is called with (hypothesis' and schemathesis' examples)."""

    @wraps(test)
    def run(*args: Any, **kwargs: Any) -> Any:
        _running[0] = test.__name__
        INPUTS_TRIED[test.__name__] += 1
        return test(*args, **kwargs)

    return run  # type: ignore[return-value]


def outcome_seen(label: str) -> None:
    """Tally what the current input led to (an HTTP status, a gRPC code) for the summary."""
    OUTCOMES[_running[0]][label] += 1
    event(label)  # also in --hypothesis-show-statistics


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not INPUTS_TRIED:
        return
    profile = os.environ.get("HYPOTHESIS_PROFILE", "ci")
    terminalreporter.section(f"inputs tried (hypothesis profile {profile!r})")
    for name, count in sorted(INPUTS_TRIED.items()):
        seen = ", ".join(f"{label}: {n}" for label, n in sorted(OUTCOMES[name].items()))
        terminalreporter.write_line(f"{count:>7}  {name}" + (f"  ({seen})" if seen else ""))
    terminalreporter.write_line(f"{sum(INPUTS_TRIED.values()):>7}  in all")
