"""The vote as a sede sends it: the names of its fields, how its text is read, and how an error
names a JSON value.

Plain Python, no Django: the gRPC contract and the gateway read it as the validation does.
Which names a field may hold is election.votes.recording' (and the catalogue's) to decide.
"""

from __future__ import annotations

from typing import Any

# What a vote says, besides its vote_id; the order of the JSON answers and the protobuf contract.
VOTE_FIELDS = ("sede", "municipio", "departamento", "papeleta", "partido")
# What a vote may also say: the mesa (JRV) the ballot was cast at, a number.
MESA_FIELD = "mesa"
# The fields a reported vote may carry: anything else is "Unknown field."
ACCEPTED_FIELDS = frozenset({"vote_id", *VOTE_FIELDS, MESA_FIELD})
# The highest mesa number: the Mesa table's (MariaDB's signed INT), and within protobuf's uint32.
MESA_NUMBER_MAX = 2_147_483_647
_MESA_DIGITS_MAX = 12

_JSON_TYPES = {bool: "a boolean", int: "a number", float: "a number", list: "a list", dict: "an object"}


class TextRefused(ValueError):
    """Why a field's text is refused, in the words the voter reads (str(exc))."""


def text_fold(value: str) -> str:
    """Trimmed, each run of whitespace one space: "  San  José " is "San José"."""
    return " ".join(value.split())


def text_clean(value: str, *, limit: int | None = None) -> str:
    """`value` folded (text_fold); TextRefused when that leaves it blank, longer than `limit`
    characters, or with control characters (a name is printed in answers and on the dashboard)."""
    text = text_fold(value)
    if not text:
        raise TextRefused("This field may not be blank.")
    if limit is not None and len(text) > limit:
        raise TextRefused(f"Ensure this field has no more than {limit} characters (it has {len(text)}).")
    if not text.isprintable():
        raise TextRefused("Must not contain control characters.")
    return text


def json_type_name(value: Any) -> str:
    """A parsed JSON value's type as a message names it: "Must be a string, not a number."."""
    return _JSON_TYPES.get(type(value), "null" if value is None else type(value).__name__)


def mesa_number(value: Any) -> int:
    """A mesa (JRV) as a vote carries it: an integer, or a string of digits ("0042" is 42).

    Raises TextRefused, in the words the voter reads, for anything that is no mesa number.
    """
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TextRefused(f"Must be an integer, not {json_type_name(value)}.")
    if isinstance(value, str):
        text = value.strip()
        if not (text.isascii() and text.isdigit()) or len(text) > _MESA_DIGITS_MAX:
            raise TextRefused("Must be a mesa (JRV) number, such as 1513.")
        value = int(text)
    if not 1 <= value <= MESA_NUMBER_MAX:
        raise TextRefused(f"Must be a mesa (JRV) number from 1 to {MESA_NUMBER_MAX}.")
    return value
