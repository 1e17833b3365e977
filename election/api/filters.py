"""The vote list's filters, declared and validated with django-filter; read by the selector.

VoteFilter parses the query only: names in every spelling the ingest accepts (names.py),
resolved to codes, and only the combinations the vote list serves. Its `form.cleaned_data`
goes to selectors.votes_filtered, the one place that builds the query, each served
combination read through its own index. Anything refused is 400 naming the fields.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from drf_spectacular.utils import extend_schema_field

from election.api.names import name_clean, names_resolve
from election.models import SEDE_MAX_LENGTH, Vote
from election.results.selectors import VOTE_FILTER_GROUPS
from election.votes.fields import TextRefused
from election.votes.validation import NAME_MAX_LENGTH, sede_canonical

GROUPS_TEXT = "by area (departamento, municipio, sede), by papeleta and partido, or by route"


class NameFormField(forms.CharField):
    """A name as written in the field, as a vote's names are read; blank is None (absent)."""

    def to_python(self, value: Any) -> str | None:
        try:
            return name_clean(super().to_python(value) or "")
        except TextRefused as refused:
            raise forms.ValidationError(str(refused)) from refused


class NameFilter(django_filters.CharFilter):
    """A name to filter by; never applied by django-filter itself (see the module docstring)."""

    field_class = NameFormField

    def __init__(self, *, max_length: int = NAME_MAX_LENGTH, help_text: str = "") -> None:
        super().__init__(max_length=max_length, help_text=help_text)
        # drf-spectacular reads a CharFilter as a bare string: say its bound too, as the field checks it.
        schema: dict[str, Any] = {"type": "string", "maxLength": max_length}
        if help_text:
            schema["description"] = help_text
        extend_schema_field(schema)(self)


class VoteFilterForm(forms.Form):
    """Each name resolved to its code, then the combination checked: a served one, or 400."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:  # a value refused on its own: name that field alone
            return cleaned
        resolved, errors = names_resolve(cleaned)
        errors = errors or vote_filters_refused({name for name, value in cleaned.items() if value})
        if errors:
            raise forms.ValidationError(errors)
        if resolved.get("sede"):
            resolved["sede"] = sede_canonical(resolved["sede"])
        return resolved


def vote_filters_refused(given: set[str]) -> dict[str, list[str]]:
    """Field -> why, for a combination the vote list does not serve (selectors.VOTE_FILTER_GROUPS).

    Each served one is the whole of one index, so a page is read straight off it; serving every
    combination would take an index for each of them on the table both routes write to.
    """
    errors: dict[str, list[str]] = {}
    if "sede" in given and "municipio" not in given:
        errors["sede"] = ["A sede is numbered within its municipio: give municipio too."]
    groups = [[name for name in group if name in given] for group in VOTE_FILTER_GROUPS]
    first, *others = [group for group in groups if group] or [[]]
    for name in (name for group in others for name in group):
        errors[name] = [
            f"Not together with {', '.join(first)}: the vote list filters {GROUPS_TEXT}, one at a time."
        ]
    return errors


class VoteFilter(django_filters.FilterSet):
    """The vote list's query parameters; `form.cleaned_data` holds codes, None when absent."""

    departamento = NameFilter()
    municipio = NameFilter()
    sede = NameFilter(max_length=SEDE_MAX_LENGTH)
    papeleta = NameFilter(help_text="Code or ballot colour")
    partido = NameFilter(help_text="Sigla, legacy alias or full name")
    route = NameFilter(help_text="grpc or redis")

    class Meta:
        model = Vote
        fields: list[str] = []  # the declared filters only
        form = VoteFilterForm
