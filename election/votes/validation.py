"""Validation: a reported vote checked against the catalogue and put in canonical form.

The one definition of a valid vote: both routes, the API's schema and the tests use it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from django.utils import timezone

from election.catalogue.index import (
    Area,
    CatalogueIndex,
    NameUnknown,
    catalogue_index,
    departamento_resolve,
    municipio_resolve,
    papeleta_resolve,
    partido_resolve,
)
from election.catalogue.mesa_index import mesa_index
from election.catalogue.sedes import sede_canonical
from election.models import SEDE_MAX_LENGTH
from election.votes.fields import (
    ACCEPTED_FIELDS,
    MESA_FIELD,
    TextRefused,
    json_type_name,
    mesa_number,
    text_clean,
)
from election.votes.types import ValidatedVote, VoteInvalid

NAME_MAX_LENGTH = 100
EXAMPLE_UUID = "3f2b8c1e-9d4a-4b7e-8f00-2a6c5e1d7b90"


def _text(data: Mapping[str, Any], name: str, errors: dict[str, list[str]], limit: int) -> str | None:
    """The field as clean text, or None with the reason added to `errors`."""
    if name not in data or data[name] is None:
        errors[name] = ["This field is required."]
        return None
    value = data[name]
    if not isinstance(value, str):
        errors[name] = [f"Must be a string, not {json_type_name(value)}."]
        return None
    try:
        return text_clean(value, limit=limit)
    except TextRefused as refused:
        errors[name] = [str(refused)]
        return None


def _vote_id(data: Mapping[str, Any], errors: dict[str, list[str]]) -> uuid.UUID | None:
    value = data.get("vote_id")
    if value is None or value == "":
        return uuid.uuid4()
    if isinstance(value, str) and len(value) <= 36:
        try:
            vote_id = uuid.UUID(value)
        except ValueError:
            pass
        else:
            # Versions 1 to 7 of the standard variant (every generator's: uuid4, uuid7...) only:
            # MariaDB's UUID column refuses some others (version nibble >= 8 with a clock_seq_hi
            # byte from 0x01 to 0x80, which it would read back as byte-swapped), and one vote the
            # database refuses fails its whole batch.
            if vote_id.variant == uuid.RFC_4122 and 1 <= (vote_id.version or 0) <= 7:
                return vote_id
            errors["vote_id"] = [f"Must be a UUID of version 1 to 7 (RFC 9562), such as {EXAMPLE_UUID}."]
            return None
    errors["vote_id"] = [f"Must be a UUID, such as {EXAMPLE_UUID}."]
    return None


def _sede(data: Mapping[str, Any], errors: dict[str, list[str]]) -> str | None:
    value = data.get("sede")
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            errors["sede"] = ["Must not be negative."]
            return None
        if value >= 10**SEDE_MAX_LENGTH:  # checked first: str() refuses ints of over 4300 digits
            errors["sede"] = [f"Ensure this field has no more than {SEDE_MAX_LENGTH} digits."]
            return None
        value = str(value)
    elif not isinstance(value, str) and value is not None:
        errors["sede"] = [f"Must be an integer or a string, not {json_type_name(value)}."]
        return None
    text = _text({"sede": value}, "sede", errors, SEDE_MAX_LENGTH)
    return None if text is None else sede_canonical(text)


def vote_validate(data: Any, *, received_at: datetime | None = None) -> ValidatedVote:
    """Check one reported vote against the catalogue and return it in canonical form.

    Raises VoteInvalid with every field's errors at once.
    """
    if not isinstance(data, Mapping):
        raise VoteInvalid({"non_field_errors": [f"Expected a JSON object, not {json_type_name(data)}."]})
    errors: dict[str, list[str]] = {}
    for unknown in sorted(set(data) - ACCEPTED_FIELDS, key=str)[:10]:
        errors[str(unknown)[:64]] = ["Unknown field."]
    vote_id = _vote_id(data, errors)
    sede = _sede(data, errors)
    index = catalogue_index()
    departamento = _departamento(data, index, errors)
    municipio = _municipio(data, index, departamento, errors)
    papeleta = _lookup(data, "papeleta", papeleta_resolve, index, errors)
    partido = _lookup(data, "partido", partido_resolve, index, errors)
    mesa = _mesa(data, sede, departamento, municipio, index, errors)
    if errors:
        raise VoteInvalid(errors)
    assert vote_id and sede and departamento and municipio and papeleta and partido
    return ValidatedVote(
        vote_id=vote_id,
        sede=sede,
        departamento_code=departamento.code,
        departamento=departamento.nombre,
        municipio_code=municipio.code,
        municipio=municipio.nombre,
        papeleta=papeleta,
        partido=partido,
        received_at=received_at or timezone.now(),
        mesa=mesa,
    )


def _mesa(
    data: Mapping[str, Any],
    sede: str | None,
    departamento: Area | None,
    municipio: Area | None,
    index: CatalogueIndex,
    errors: dict[str, list[str]],
) -> int | None:
    """The vote's mesa (optional), which must be in the vote's sede, municipio and departamento.

    Checked against the in-memory index of mesas: no query per vote. When the vote's place is
    itself wrong, that field's error says so and the mesa is not compared with it.
    """
    value = data.get(MESA_FIELD)
    if value is None or value == "":
        return None
    try:
        numero = mesa_number(value)
    except TextRefused as refused:
        errors[MESA_FIELD] = [str(refused)]
        return None
    place = mesa_index().mesas.get(numero)
    if place is None:
        errors[MESA_FIELD] = [f"Unknown mesa {numero}."]
        return None
    if sede is None or departamento is None or municipio is None:
        return numero
    if (place.departamento_code, place.municipio_code, place.sede) == (
        departamento.code,
        municipio.code,
        sede,
    ):
        return numero
    home = index.municipio_names.get(place.municipio_code, place.municipio_code)
    home_departamento = index.departamento_names.get(place.departamento_code, place.departamento_code)
    errors[MESA_FIELD] = [
        f"mesa {numero} is in sede {place.sede} of {home} ({home_departamento}), not this vote's."
    ]
    return None
    return numero


def _departamento(
    data: Mapping[str, Any], index: CatalogueIndex, errors: dict[str, list[str]]
) -> Area | None:
    text = _text(data, "departamento", errors, NAME_MAX_LENGTH)
    if text is None:
        return None
    try:
        return departamento_resolve(text, index)
    except NameUnknown as exc:
        errors["departamento"] = [str(exc)]
        return None


def _municipio(
    data: Mapping[str, Any],
    index: CatalogueIndex,
    departamento: Area | None,
    errors: dict[str, list[str]],
) -> Area | None:
    text = _text(data, "municipio", errors, NAME_MAX_LENGTH)
    if text is None or departamento is None:
        return None
    try:
        return municipio_resolve(text, departamento, index)
    except NameUnknown as exc:
        errors["municipio"] = [str(exc)]
        return None


def _lookup(
    data: Mapping[str, Any],
    name: str,
    resolve: Callable[[str, CatalogueIndex], str],
    index: CatalogueIndex,
    errors: dict[str, list[str]],
) -> str | None:
    text = _text(data, name, errors, NAME_MAX_LENGTH)
    if text is None:
        return None
    try:
        return resolve(text, index)
    except NameUnknown as exc:
        errors[name] = [str(exc)]
        return None
