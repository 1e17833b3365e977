"""Hypothesis strategies for bad (and good) input: votes as the field writes them, mutated.

The catalogue names come from the catalogue files themselves (no database needed), so a good
share of the generated votes is valid and the rest is refused for one reason or several.
"""

from __future__ import annotations

import csv
import json
import unicodedata
import uuid
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from election.votes.fields import VOTE_FIELDS

CATALOGUE_DIR = Path(__file__).resolve().parents[2] / "election" / "catalogue" / "data"


def _rows(name: str) -> list[dict[str, str]]:
    with open(CATALOGUE_DIR / name, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


MUNICIPIOS = _rows("municipios.csv")
PAPELETAS = [name for row in _rows("papeletas.csv") for name in (row["code"], row["color"])]
PARTIDOS = [name for row in _rows("partidos_2023.csv") for name in (row["sigla"], row["nombre"])]
PARTIDOS += [row["alias"] for row in _rows("partidos_aliases.csv")]

# SQL and markup: stored verbatim as a sede (free text), refused as a catalogue name.
SQL_AND_HTML = [
    "'; DROP TABLE election_vote; --",
    '" OR 1=1 --',
    "1; DELETE FROM election_vote",
    "Robert'); DROP TABLE x;--",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "</textarea><svg onload=alert(1)>",
    "{{7*7}}",
    "${jndi:ldap://x/a}",
]
# Text at the edges of the rules: control and format characters, odd digits, blanks, lengths.
HOSTILE = [
    *SQL_AND_HTML,
    "%00%27",
    "\\x00\\'",
    "‮evil",  # right-to-left override: a format character, not printable
    "\x00",
    "\u0085next line",
    "\ud800",  # a lone surrogate: JSON's "\\ud800" escape decodes to this
    "²",  # isdigit() but not a decimal: int("²") fails
    "\uff10\uff17",  # fullwidth digits: the decimal 7
    "\u0660\u0660\u0667",  # Arabic-Indic digits: the decimal 7
    "🗳️ sede",
    "",
    "   ",
    "7\n",
    "\t7 ",
    "x" * 33,
    "x" * 101,
]


def _accentless(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def spelled(name: str) -> st.SearchStrategy[str]:
    """`name` as the field might write it: other case, no accents, extra spaces, or exactly."""
    return st.sampled_from(
        [name, name.upper(), name.lower(), _accentless(name), f"  {name} ", name.replace(" ", "  ")]
    )


@st.composite
def field_vote(draw: st.DrawFn) -> dict[str, Any]:
    """A vote a sede could really send: valid names in one of their spellings."""
    row = draw(st.sampled_from(MUNICIPIOS))
    return {
        "sede": draw(
            st.integers(min_value=0, max_value=10_000) | st.from_regex(r"\A0{0,3}[1-9][0-9]{0,3}\Z")
        ),
        "departamento": draw(spelled(row["departamento"]) | st.just(row["departamento_code"])),
        "municipio": draw(spelled(row["municipio"]) | st.just(row["municipio_code"])),
        "papeleta": draw(st.sampled_from(PAPELETAS).flatmap(spelled)),
        "partido": draw(st.sampled_from(PARTIDOS).flatmap(spelled)),
    }


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats()
    | st.text(max_size=40)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
field_text = st.sampled_from(HOSTILE) | st.text(max_size=40) | st.text(alphabet=st.characters(), max_size=120)
vote_ids = st.sampled_from(
    [None, "", "not-a-uuid", 7, "3F2B8C1E-9D4A-4B7E-8F00-2A6C5E1D7B90"]
) | st.uuids().map(str)


@st.composite
def vote_like(draw: st.DrawFn) -> Any:
    """Many valid field votes, most of the rest with a field or two broken, dropped or added,
    and now and then any JSON value at all."""
    kind = draw(st.sampled_from(["valid"] * 4 + ["broken"] * 4 + ["any"]))
    if kind == "any":
        return draw(json_values)
    vote: dict[str, Any] = draw(field_vote())
    if draw(st.booleans()):
        vote["vote_id"] = draw(st.uuids().map(str) if kind == "valid" else vote_ids)
    if kind == "valid":
        return vote
    for name in draw(st.lists(st.sampled_from(VOTE_FIELDS), min_size=1, max_size=2, unique=True)):
        change = draw(st.sampled_from(["drop", "text", "text", "any"]))
        if change == "drop":
            del vote[name]
        elif change == "text":
            vote[name] = draw(field_text)
        else:
            vote[name] = draw(json_values)
    if draw(st.integers(min_value=0, max_value=3)) == 0:
        vote.update(draw(st.dictionaries(st.text(max_size=12), json_values, max_size=2)))
    return vote


def fresh_vote_id() -> str:
    return str(uuid.uuid4())


@st.composite
def json_body(draw: st.DrawFn) -> bytes:
    """A vote (or anything) as JSON bytes, ASCII-escaped or not."""
    value = draw(vote_like())
    text = json.dumps(value, ensure_ascii=draw(st.booleans()), allow_nan=True)
    try:
        return text.encode()
    except UnicodeEncodeError:  # a lone surrogate: only its escaped form is sendable
        return json.dumps(value, ensure_ascii=True).encode()


def nested(depth: int) -> bytes:
    return b'{"sede": ' + b"[" * depth + b"]" * depth + b"}"


@st.composite
def http_body(draw: st.DrawFn, limit: int) -> bytes:
    """Request bodies of every kind: JSON votes, non-UTF-8, raw bytes, deep nesting, oversize."""
    kind = draw(st.sampled_from(["json"] * 12 + ["latin1", "utf16", "bytes", "nested", "huge", "truncated"]))
    if kind == "json":
        return draw(json_body())
    if kind == "latin1":
        sede = draw(st.text(alphabet="ñáéíóúÑ¿¡ü", min_size=1, max_size=10))
        return json.dumps({**draw(field_vote()), "sede": sede}, ensure_ascii=False).encode(
            "latin-1", "replace"
        )
    if kind == "utf16":
        return json.dumps(draw(field_vote())).encode(draw(st.sampled_from(["utf-16", "utf-32", "utf-16-be"])))
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "nested":
        return nested(draw(st.integers(min_value=1, max_value=max(1, limit // 2 - 10))))
    if kind == "huge":
        return b'{"sede": "' + b"7" * draw(st.integers(min_value=limit, max_value=4 * limit)) + b'"}'
    body = draw(json_body())
    return body[: draw(st.integers(min_value=0, max_value=max(0, len(body) - 1)))]


content_types = st.sampled_from(
    [
        *["application/json"] * 12,
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/json; charset=latin-1",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/jsonx",
        "application/ld+json",
        "",
        None,
    ]
)
