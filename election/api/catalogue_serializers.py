"""The catalogue of mesas' query parameters and answers (/api/catalogue/mesas)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from election.api.serializers import AreaQuery, NameField
from election.catalogue.index import catalogue_index
from election.catalogue.sedes import sede_canonical
from election.models import SEDE_MAX_LENGTH


class MesasQuery(AreaQuery):
    """departamento and municipio by code or name (as a vote names them), sede within its municipio."""

    departamento = NameField(help_text="Code or name")
    municipio = NameField(help_text="Code or name; a name in several departamentos needs departamento")
    sede = NameField(max_length=SEDE_MAX_LENGTH, help_text="Only with municipio")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors: dict[str, Any] = {}
        if attrs.get("sede") and not attrs.get("municipio"):
            errors["sede"] = ["A sede is numbered within its municipio: give municipio too."]
        try:
            resolved = super().validate(attrs)
        except serializers.ValidationError as invalid:
            errors = {**invalid.detail, **errors}  # type: ignore[dict-item]
        if errors:
            raise serializers.ValidationError(errors)
        if resolved.get("sede"):
            resolved["sede"] = sede_canonical(resolved["sede"])
        return resolved


class MesaSerializer(serializers.Serializer):
    mesa = serializers.IntegerField(help_text="JRV number, unique nationally")
    departamento = serializers.CharField()
    municipio = serializers.CharField()
    sede = serializers.CharField()
    padron = serializers.IntegerField(help_text="Registered voters")

    def to_representation(self, mesa: Any) -> dict[str, Any]:
        index = catalogue_index()  # names from memory: no join, no query per mesa
        return {
            "mesa": mesa.numero,
            "departamento": index.departamento_names.get(mesa.departamento_id, mesa.departamento_id),
            "municipio": index.municipio_names.get(mesa.municipio_id, mesa.municipio_id),
            "sede": mesa.sede,
            "padron": mesa.padron,
        }


class NotFoundAnswer(serializers.Serializer):
    detail = serializers.CharField()
