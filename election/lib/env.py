"""Reading the environment: the one set of parsing rules every process's configuration uses
(election/settings.py for the Django processes, election/ingest/config.py for the edge).

An unset or empty variable takes its default; a value that does not parse stops the process
at start with an error that names the variable, never a bare ValueError from deep inside.
"""

from __future__ import annotations

import os

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})


class EnvironmentValueError(ValueError):
    """A variable is set to a value its setting cannot take."""

    def __init__(self, name: str, value: str, expected: str) -> None:
        super().__init__(f"{name}={value!r} is not {expected}")


def env_str(name: str, default: str = "", *, empty_is_default: bool = True) -> str:
    """The variable, stripped, or `default` when unset or empty (unset only, when
    `empty_is_default` is False: for a setting that an empty value turns off)."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip() or (default if empty_is_default else "")


def env_int(name: str, default: int) -> int:
    value = env_str(name)
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise EnvironmentValueError(name, value, "an integer") from None


def env_float(name: str, default: float) -> float:
    value = env_str(name)
    if not value:
        return default
    try:
        return float(value)
    except ValueError:
        raise EnvironmentValueError(name, value, "a number") from None


def env_bool(name: str, default: bool = False) -> bool:
    """1, true, yes, on (any case) are true; any other value is false."""
    value = env_str(name)
    return value.lower() in TRUE_WORDS if value else default


def env_list(name: str, default: str) -> list[str]:
    """Comma-separated items, each stripped, empty ones dropped."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]
