"""A sede as stored: one definition for the votes, the tokens and the mesas."""

from __future__ import annotations


def sede_canonical(text: str) -> str:
    """A sede as stored: "007" and 7 are the same sede."""
    # isdecimal, not isdigit: "²" is a digit that int() refuses; every decimal it accepts.
    return str(int(text)) if text.isdecimal() else text
