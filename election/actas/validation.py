"""Validation: a typed acta checked field by field against the catalogue, in canonical form.

Its arithmetic is not checked here: a broken sum is stored and shown (election.actas.checks),
never a reason to refuse. What is refused: an unknown mesa or one elsewhere than the acta
says, a partido not on the papeleta, a count that is not a non-negative integer, a malformed
hash, a missing or unknown field.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.utils import timezone

from election.actas.types import COUNT_FIELDS, ActaInvalid, ValidatedActa
from election.catalogue.index import (
    CatalogueIndex,
    NameUnknown,
    catalogue_index,
    papeleta_partidos,
    papeleta_resolve,
    partido_resolve,
)
from election.catalogue.mesa_index import mesa_place
from election.votes.fields import TextRefused, json_type_name, text_clean

# The vote's field rules, shared so that a name or sede is read alike in a vote and an acta.
from election.votes.validation import _departamento, _lookup, _municipio, _sede, _text, _vote_id

# What an acta carries; anything else is "Unknown field."
ACTA_FIELDS = (
    "acta_id",
    "mesa",
    "departamento",
    "municipio",
    "sede",
    "papeleta",
    "votes",
    *COUNT_FIELDS,
    "image_sha256",
    "entered_by",
    "corrects",
    "reason",
)
ACCEPTED_FIELDS = frozenset(ACTA_FIELDS)
COUNT_MAX = 2_147_483_647  # the columns' (MariaDB INT)
ENTERED_BY_MAX_LENGTH = 100
REASON_MAX_LENGTH = 1000
PAPELETA_MAX_LENGTH = 100
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
Errors = dict[str, list[str]]


def acta_validate(data: Any, *, received_at: datetime | None = None) -> ValidatedActa:
    """Check one typed acta and return it in canonical form; ActaInvalid with every field's errors."""
    if not isinstance(data, Mapping):
        raise ActaInvalid({"non_field_errors": [f"Expected a JSON object, not {json_type_name(data)}."]})
    errors: Errors = {}
    for unknown in sorted(set(data) - ACCEPTED_FIELDS, key=str)[:10]:
        errors[str(unknown)[:64]] = ["Unknown field."]
    acta_id = _acta_id(data, errors)
    index = catalogue_index()
    departamento = _departamento(data, index, errors)
    municipio = _municipio(data, index, departamento, errors)
    sede = _sede(data, errors)
    papeleta = _lookup(data, "papeleta", papeleta_resolve, index, errors)
    mesa = _mesa(data, errors)
    counts = {name: _count(data, name, errors) for name in COUNT_FIELDS}
    votes = _votes(data, papeleta, index, errors)
    image = _image_sha256(data, errors)
    entered_by = _text(data, "entered_by", errors, ENTERED_BY_MAX_LENGTH)
    corrects = _corrects(data, errors)
    reason = _reason(data, corrects, errors)
    if mesa is not None and departamento and municipio and sede is not None:
        _mesa_place_check(mesa, departamento.code, municipio.code, sede, errors)
    if errors:
        raise ActaInvalid(errors)
    assert acta_id and departamento and municipio and sede and papeleta and mesa and votes is not None
    assert image and entered_by and corrects is not None
    return ValidatedActa(
        acta_id=acta_id,
        mesa=mesa,
        departamento_code=departamento.code,
        municipio_code=municipio.code,
        sede=sede,
        papeleta=papeleta,
        votes=votes,
        **counts,  # type: ignore[arg-type]  # every one an int once errors is empty
        image_sha256=image,
        entered_by=entered_by,
        corrects=corrects,
        reason=reason,
        received_at=received_at or timezone.now(),
    )


def _acta_id(data: Mapping[str, Any], errors: Errors) -> uuid.UUID | None:
    """As a vote's vote_id: a UUID of version 1 to 7, or a new uuid4 when absent."""
    found: Errors = {}
    acta_id = _vote_id({"vote_id": data.get("acta_id")}, found)
    if found:
        errors["acta_id"] = [message.replace("vote_id", "acta_id") for message in found["vote_id"]]
    return acta_id


def _integer(value: Any) -> str | None:
    """Why `value` is not a count, or None."""
    if isinstance(value, bool) or not isinstance(value, int):
        return f"Must be an integer, not {json_type_name(value)}."
    if value < 0:
        return "Must not be negative."
    if value > COUNT_MAX:
        return f"Must be at most {COUNT_MAX}."
    return None


def _count(data: Mapping[str, Any], name: str, errors: Errors) -> int | None:
    if data.get(name) is None:
        errors[name] = ["This field is required."]
        return None
    refused = _integer(data[name])
    if refused:
        errors[name] = [refused]
        return None
    return int(data[name])


def _mesa(data: Mapping[str, Any], errors: Errors) -> int | None:
    if data.get("mesa") is None:
        errors["mesa"] = ["This field is required."]
        return None
    refused = _integer(data["mesa"])
    if refused or data["mesa"] == 0:
        errors["mesa"] = [refused or "Unknown mesa 0."]
        return None
    return int(data["mesa"])


def _mesa_place_check(mesa: int, departamento: str, municipio: str, sede: str, errors: Errors) -> None:
    place = mesa_place(mesa)
    if place is None:
        errors["mesa"] = [f"Unknown mesa {mesa}."]
    elif (place.departamento_code, place.municipio_code, place.sede) != (departamento, municipio, sede):
        errors["mesa"] = [
            f"Mesa {mesa} is in sede {place.sede} of municipio {place.municipio_code} "
            f"(departamento {place.departamento_code}), not in sede {sede} of municipio {municipio} "
            f"(departamento {departamento})."
        ]


def _votes(
    data: Mapping[str, Any], papeleta: str | None, index: CatalogueIndex, errors: Errors
) -> dict[str, int] | None:
    value = data.get("votes")
    if value is None:
        errors["votes"] = ["This field is required."]
        return None
    if not isinstance(value, Mapping):
        errors["votes"] = [f"Must be an object of partido: votes, not {json_type_name(value)}."]
        return None
    on_ballot = papeleta_partidos(papeleta, index) if papeleta else frozenset()
    votes: dict[str, int] = dict.fromkeys(sorted(on_ballot), 0)
    named: dict[str, str] = {}
    problems: list[str] = []
    for key, count in list(value.items())[:100]:
        try:
            sigla = partido_resolve(text_clean(str(key), limit=PAPELETA_MAX_LENGTH), index)
        except (NameUnknown, TextRefused) as exc:
            problems.append(f"{str(key)[:64]!r}: {exc}")
            continue
        refused = _integer(count)
        if refused:
            problems.append(f"{str(key)[:64]!r}: {refused}")
        elif papeleta and sigla not in on_ballot:
            what = "counted in nulos or blancos" if sigla in index.partido_kinds else "not on that papeleta"
            problems.append(f"{str(key)[:64]!r}: partido {sigla} is {what}.")
        elif sigla in named:
            problems.append(f"{str(key)[:64]!r}: partido {sigla} is named twice (also as {named[sigla]!r}).")
        else:
            named[sigla] = str(key)[:64]
            votes[sigla] = int(count)
    if len(value) > 100:
        problems.append("Too many partidos.")
    if problems:
        errors["votes"] = problems
        return None
    return votes


def _image_sha256(data: Mapping[str, Any], errors: Errors) -> str | None:
    value = data.get("image_sha256")
    if value is None:
        errors["image_sha256"] = ["This field is required."]
        return None
    if not isinstance(value, str) or not _SHA256.fullmatch(value):
        errors["image_sha256"] = ["Must be the SHA-256 of the scanned acta: 64 hexadecimal digits."]
        return None
    return value.lower()


def _corrects(data: Mapping[str, Any], errors: Errors) -> bool | None:
    value = data.get("corrects", False)
    if value is None:
        return False
    if not isinstance(value, bool):
        errors["corrects"] = [f"Must be a boolean, not {json_type_name(value)}."]
        return None
    return value


def _reason(data: Mapping[str, Any], corrects: bool | None, errors: Errors) -> str | None:
    if data.get("reason") is None:
        if corrects:
            errors["reason"] = ["A correction needs its reason."]
        return None
    return _text(data, "reason", errors, REASON_MAX_LENGTH)
