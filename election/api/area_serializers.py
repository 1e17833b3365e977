"""The area view's query parameters and answer (/api/results/area). Names resolve as a vote's
do; `validated_data` holds codes. The answer is built by election.results.areas; these
serializers describe it for the OpenAPI schema."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from election.actas.types import ActaStatus
from election.api.acta_serializers import ActaProgressFields
from election.api.names import names_resolve
from election.api.serializers import SOURCE_ACTAS, BallotsSerializer, NameField, SourceField
from election.catalogue.sedes import sede_canonical
from election.models import SEDE_MAX_LENGTH
from election.results.areas import DEPARTAMENTO, MUNICIPIO, PAIS, SEDE

SEDE_NEEDS_MUNICIPIO = "A sede is numbered within its municipio: give municipio too."


class AreaViewQuery(serializers.Serializer):
    source = SourceField(
        default=SOURCE_ACTAS,
        help_text="actas (the counted actas, the default: the preliminary count) or votes (the stream)",
    )
    papeleta = NameField(default="presidente", help_text="Code or ballot colour; presidente by default")
    departamento = NameField(help_text="Code or name; nationwide when absent")
    municipio = NameField(help_text="Code or name (a name in several departamentos needs departamento)")
    sede = NameField(max_length=SEDE_MAX_LENGTH, help_text="Only with municipio")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs["papeleta"] = attrs.get("papeleta") or "presidente"
        resolved, errors = names_resolve(attrs)
        if attrs.get("sede") and not attrs.get("municipio"):
            errors["sede"] = [SEDE_NEEDS_MUNICIPIO]
        if errors:
            raise serializers.ValidationError(errors)
        if resolved.get("sede"):
            resolved["sede"] = sede_canonical(resolved["sede"])
        return resolved


# --- The answer (for the OpenAPI schema) ---------------------------------------------------


class AreaName(serializers.Serializer):
    code = serializers.CharField()
    nombre = serializers.CharField()


class AreaPartido(serializers.Serializer):
    partido = serializers.CharField(help_text="Sigla")
    nombre = serializers.CharField()
    votes = serializers.IntegerField()
    percent = serializers.FloatField(help_text="Of the valid votes; two decimals, summing to exactly 100")


class AreaChild(serializers.Serializer):
    code = serializers.CharField(help_text="Departamento or municipio code, sede, or mesa number, as text")
    nombre = serializers.CharField()
    total = serializers.IntegerField(help_text="Valid votes")
    cast = serializers.IntegerField(help_text="Ballots cast: valid, nulos and blancos")
    leader = serializers.CharField(allow_null=True, help_text="Sigla; a tie goes to the first sigla")
    leader_votes = serializers.IntegerField()
    leader_percent = serializers.FloatField(allow_null=True)
    runner_up = serializers.CharField(allow_null=True, help_text="Null when no other partido has votes")
    margin_percent = serializers.FloatField(
        allow_null=True, help_text="(leader's - runner-up's votes) of the valid votes; 0 on a tie"
    )
    actas_expected = serializers.IntegerField()
    actas_counted = serializers.IntegerField()
    percent_counted = serializers.FloatField()
    status = serializers.ChoiceField(
        choices=[status.value for status in ActaStatus],
        required=False,
        help_text="Mesas only: its acta's status on the papeleta (pending when none was typed)",
    )


class AreaAnswer(serializers.Serializer):
    source = serializers.ChoiceField(choices=[SOURCE_ACTAS, "votes"])
    papeleta = serializers.CharField()
    level = serializers.ChoiceField(choices=[PAIS, DEPARTAMENTO, MUNICIPIO, SEDE])
    departamento = AreaName(allow_null=True)
    municipio = AreaName(allow_null=True)
    sede = serializers.CharField(allow_null=True)
    progress = ActaProgressFields(help_text="Of the actas, whichever the source")
    ballots = BallotsSerializer()
    total = serializers.IntegerField(help_text="Valid votes: the sum of the results")
    results = AreaPartido(many=True, help_text="Every partido of the papeleta, by votes then sigla")
    children = AreaChild(many=True, help_text="Departamentos, municipios, sedes or mesas, in code order")
    as_of = serializers.DateTimeField()
