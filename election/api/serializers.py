"""Query parameters in, answers out.

Query serializers resolve names as the ingest does (names.py); their `validated_data` holds
codes. The vote list's filters are a FilterSet (filters.py).
Answer serializers describe the JSON for the OpenAPI schema; the views fill them from the
selectors' dataclasses.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from election.api.names import name_clean, names_resolve
from election.catalogue.index import catalogue_index
from election.models import PartidoKind, Route
from election.votes.fields import TextRefused
from election.votes.validation import NAME_MAX_LENGTH

DEPARTAMENTOS_MAX = 22


class NameField(serializers.CharField):
    """A name as written in the field; blank counts as absent, so empty filters are harmless."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", NAME_MAX_LENGTH)
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("default", None)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str | None:
        try:
            return name_clean(super().to_internal_value(data))
        except TextRefused as refused:
            raise serializers.ValidationError(str(refused)) from refused


SOURCE_VOTES, SOURCE_ACTAS = "votes", "actas"


class SourceField(serializers.ChoiceField):
    """Which count an answer reads: the streamed ballots (votes, the default) or the counted
    actas. Never both added together; blank counts as absent."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("default", SOURCE_VOTES)
        kwargs.setdefault(
            "help_text", "votes (the streamed ballots, by default) or actas (the counted actas); never added"
        )
        super().__init__(choices=[SOURCE_VOTES, SOURCE_ACTAS], allow_blank=True, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        return str(super().to_internal_value(data) or self.default)


class AreaQuery(serializers.Serializer):
    """departamento / municipio / papeleta / partido, each resolved to its code."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        resolved, errors = names_resolve(attrs)
        if errors:
            raise serializers.ValidationError(errors)
        return resolved


class TopDepartamentosQuery(AreaQuery):
    papeleta = NameField(default="presidente", help_text="Code or ballot colour; presidente by default")
    limit = serializers.IntegerField(min_value=1, max_value=DEPARTAMENTOS_MAX, default=3)
    source = SourceField()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs["papeleta"] = attrs.get("papeleta") or "presidente"
        return super().validate(attrs)


class PartidosQuery(AreaQuery):
    departamento = NameField(required=True, default=serializers.empty)
    municipio = NameField()
    papeleta = NameField(help_text="Code or ballot colour; every papeleta when absent")
    source = SourceField()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("departamento"):
            raise serializers.ValidationError({"departamento": ["This field is required."]})
        return super().validate(attrs)


class TopSedesQuery(AreaQuery):
    limit = serializers.IntegerField(min_value=1, max_value=100, default=5)
    papeleta = NameField(help_text="Code or ballot colour; every papeleta when absent")
    source = SourceField()


class SummaryQuery(serializers.Serializer):
    source = SourceField()


class LatestQuery(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=100, default=5)


# --- Answers ------------------------------------------------------------------


class VoteSerializer(serializers.Serializer):
    vote_id = serializers.UUIDField()
    sede = serializers.CharField()
    departamento = serializers.CharField()
    municipio = serializers.CharField()
    papeleta = serializers.CharField(help_text="papeleta code")
    partido = serializers.CharField(help_text="partido sigla")
    mesa = serializers.IntegerField(allow_null=True, help_text="The mesa (JRV) the vote named, or null")
    route = serializers.ChoiceField(choices=Route.choices)
    received_at = serializers.DateTimeField(help_text="Stamped at the edge")
    stored_at = serializers.DateTimeField(help_text="Stamped by the transaction that stored it")

    def to_representation(self, vote: Any) -> dict[str, Any]:
        # Names from the in-memory catalogue: no join, no query per vote.
        index = catalogue_index()
        return {
            "vote_id": str(vote.vote_id),
            "sede": vote.sede,
            "departamento": index.departamento_names.get(vote.departamento_id, vote.departamento_id),
            "municipio": index.municipio_names.get(vote.municipio_id, vote.municipio_id),
            "papeleta": vote.papeleta_id,
            "partido": vote.partido_id,
            "mesa": vote.mesa,
            "route": vote.route,
            "received_at": vote.received_at.isoformat(),
            "stored_at": vote.stored_at.isoformat(),
        }


class LatestVotesAnswer(serializers.Serializer):
    results = VoteSerializer(many=True)


class BallotPercentsSerializer(serializers.Serializer):
    valid = serializers.FloatField()
    nulos = serializers.FloatField()
    blancos = serializers.FloatField()


class BallotsSerializer(serializers.Serializer):
    valid = serializers.IntegerField(help_text="Ballots for a partido")
    nulos = serializers.IntegerField(help_text="Null ballots (partido NULO)")
    blancos = serializers.IntegerField(help_text="Blank ballots (partido BLANCO)")
    cast = serializers.IntegerField(help_text="Every ballot: valid + nulos + blancos")
    percent = BallotPercentsSerializer(help_text="Of the ballots cast; two decimals, summing to exactly 100")


class DepartamentoVotesSerializer(serializers.Serializer):
    departamento = serializers.CharField()
    votes = serializers.IntegerField(help_text="Valid votes: what departamentos are ranked by")
    ballots = BallotsSerializer()


class TopDepartamentosAnswer(serializers.Serializer):
    papeleta = serializers.CharField()
    ballots = BallotsSerializer(help_text="Nationwide, on the papeleta")
    results = DepartamentoVotesSerializer(many=True)


class PartidoShareSerializer(serializers.Serializer):
    partido = serializers.CharField()
    votes = serializers.IntegerField()
    percent = serializers.FloatField(
        help_text="Of the area's valid votes; two decimals, the area's percents sum to exactly 100"
    )


class PartidosAnswer(serializers.Serializer):
    departamento = serializers.CharField()
    municipio = serializers.CharField(allow_null=True)
    papeleta = serializers.CharField(allow_null=True)
    total = serializers.IntegerField(help_text="Valid votes: the sum of the results")
    ballots = BallotsSerializer(help_text="In the area: null and blank ballots are not in the results")
    results = PartidoShareSerializer(many=True)


class SedeVotesSerializer(serializers.Serializer):
    departamento = serializers.CharField()
    municipio = serializers.CharField()
    sede = serializers.CharField()
    votes = serializers.IntegerField(
        help_text="Ballots cast (valid, null and blank): what sedes are ranked by"
    )


class TopSedesAnswer(serializers.Serializer):
    papeleta = serializers.CharField(allow_null=True)
    ballots = BallotsSerializer(help_text="Nationwide, on the papeleta (or every papeleta)")
    results = SedeVotesSerializer(many=True)


class LatencySerializer(serializers.Serializer):
    p50 = serializers.FloatField(allow_null=True)
    p95 = serializers.FloatField(allow_null=True)


class RouteSummarySerializer(serializers.Serializer):
    votes = serializers.IntegerField()
    latency_ms = LatencySerializer(help_text="Receipt to storage (stored_at - received_at)")


class SummaryAnswer(serializers.Serializer):
    total = serializers.IntegerField(help_text="Ballots cast, every papeleta (ballots.cast)")
    ballots = BallotsSerializer(help_text="Every papeleta")
    by_route = serializers.DictField(child=RouteSummarySerializer())
    by_papeleta = serializers.DictField(child=serializers.IntegerField())
    as_of = serializers.DateTimeField()


class MunicipioEntry(serializers.Serializer):
    code = serializers.CharField()
    nombre = serializers.CharField()


class DepartamentoEntry(serializers.Serializer):
    code = serializers.CharField()
    nombre = serializers.CharField()
    municipios = MunicipioEntry(many=True)


class PapeletaEntry(serializers.Serializer):
    code = serializers.CharField()
    color = serializers.CharField()
    nombre = serializers.CharField()


class PartidoEntry(serializers.Serializer):
    sigla = serializers.CharField()
    nombre = serializers.CharField()
    kind = serializers.ChoiceField(
        choices=PartidoKind.values,
        help_text="nulo and blanco: the rows null and blank ballots count against",
    )


class CatalogueAnswer(serializers.Serializer):
    departamentos = DepartamentoEntry(many=True)
    papeletas = PapeletaEntry(many=True)
    partidos = PartidoEntry(many=True)


class ErrorsAnswer(serializers.Serializer):
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
