"""Names in query parameters, resolved to codes through the same catalogue helpers as
vote_validate, so the API accepts every spelling the ingest accepts.

Shared by the query serializers (serializers.py) and the vote list's FilterSet (filters.py).
"""

from __future__ import annotations

from typing import Any

from election.catalogue.index import (
    NameUnknown,
    catalogue_index,
    departamento_resolve,
    municipio_resolve,
    name_key,
    papeleta_resolve,
    partido_resolve,
)
from election.models import Route
from election.votes.fields import text_clean, text_fold


def name_clean(text: str) -> str | None:
    """`text` as a vote's names are read, or None when blank: blank counts as absent.

    Raises election.votes.fields.TextRefused for text no vote could hold.
    """
    folded = text_fold(text)
    return text_clean(folded) if folded else None


def names_resolve(names: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """`names` with departamento / municipio / papeleta / partido / route resolved to codes
    (others as given, blanks None), and field -> why for each name that resolves to nothing."""
    index = catalogue_index()
    errors: dict[str, list[str]] = {}
    resolved: dict[str, Any] = {key: None if value == "" else value for key, value in names.items()}
    departamento = None
    if names.get("departamento"):
        try:
            departamento = departamento_resolve(names["departamento"], index)
            resolved["departamento"] = departamento.code
        except NameUnknown as exc:
            errors["departamento"] = [str(exc)]
    if names.get("municipio") and "departamento" not in errors:
        try:
            municipio, home = _municipio(names["municipio"], departamento, index)
            resolved["municipio"], resolved["departamento"] = municipio.code, home.code
        except NameUnknown as exc:
            errors["municipio"] = [str(exc)]
    for field, resolve in (("papeleta", papeleta_resolve), ("partido", partido_resolve)):
        if names.get(field):
            try:
                resolved[field] = resolve(names[field], index)
            except NameUnknown as exc:
                errors[field] = [str(exc)]
    if names.get("route"):
        resolved["route"] = name_key(names["route"])
        if resolved["route"] not in Route.values:
            errors["route"] = [f"Unknown route '{names['route']}': grpc or redis."]
    return resolved, errors


def _municipio(text: str, departamento: Any, index: Any) -> tuple[Any, Any]:
    """The municipio and its departamento."""
    if departamento is not None:
        return municipio_resolve(text, departamento, index), departamento
    # Without a departamento, a municipio name is accepted only when it is unambiguous.
    homes = index.municipio_homes.get(name_key(text), [])
    if len(homes) == 1:
        home = departamento_resolve(homes[0], index)
        return municipio_resolve(text, home, index), home
    if homes:
        where = ", ".join(f"'{home}'" for home in homes)
        raise NameUnknown(f"municipio '{text}' is in several departamentos ({where}): give departamento too.")
    raise NameUnknown(f"Unknown municipio '{text}'.")
