"""The actas' query parameters and answers (/api/actas/, /api/actas/<mesa>/<papeleta>,
/api/results/progress). Names resolve as a vote's do; `validated_data` holds codes."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from election.actas.types import COUNT_FIELDS, RULES, ActaStatus
from election.api.serializers import AreaQuery, NameField

STATUS_FIRST = (
    "The acta list filters by status first: give status too (pending, counted, inconsistent, in_review)."
)


class ActasQuery(AreaQuery):
    """status, then an area and a papeleta: each combination served is one index of Acta."""

    status = serializers.ChoiceField(
        choices=[status.value for status in ActaStatus], required=False, allow_blank=True, default=None
    )
    departamento = NameField(help_text="Code or name; only with status")
    municipio = NameField(help_text="Code or name; only with status")
    papeleta = NameField(help_text="Code or ballot colour; only with status")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        resolved = super().validate(attrs)
        resolved["status"] = resolved.get("status") or None
        narrowed = [name for name in ("departamento", "municipio", "papeleta") if resolved.get(name)]
        if narrowed and resolved["status"] is None:
            raise serializers.ValidationError({"status": [STATUS_FIRST]})
        return resolved


class ProgressQuery(AreaQuery):
    papeleta = NameField(default="presidente", help_text="Code or ballot colour; presidente by default")
    departamento = NameField(help_text="Code or name; nationwide when absent")
    municipio = NameField(help_text="Code or name")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs["papeleta"] = attrs.get("papeleta") or "presidente"
        return super().validate(attrs)


# --- Answers (for the OpenAPI schema; the selectors build the dicts) ---------------------


class ActaNumbers(serializers.Serializer):
    """The numbers of an acta (election.actas.types.COUNT_FIELDS, after its votes)."""

    votes = serializers.DictField(child=serializers.IntegerField(), help_text="partido sigla -> votes")
    nulos = serializers.IntegerField()
    blancos = serializers.IntegerField()
    invalidos = serializers.IntegerField()
    impugnados = serializers.IntegerField()
    total_valid = serializers.IntegerField()
    total_cast = serializers.IntegerField()
    voters = serializers.IntegerField()
    ballots_received = serializers.IntegerField()
    ballots_unused = serializers.IntegerField()


assert set(ActaNumbers().fields) == {"votes", *COUNT_FIELDS}, "the schema names every count"


class ActaEntryAnswer(ActaNumbers):
    acta_id = serializers.UUIDField()
    image_sha256 = serializers.CharField()
    entered_by = serializers.CharField()
    credential = serializers.CharField(help_text="token:<id> of the token it came with, or shared")
    corrects = serializers.BooleanField()
    reason = serializers.CharField(allow_null=True)
    route = serializers.CharField(help_text="grpc, redis, or admin (typed by a supervisor)")
    failed_rules = serializers.ListField(child=serializers.ChoiceField(choices=RULES))
    received_at = serializers.DateTimeField()
    stored_at = serializers.DateTimeField()


class ActaVersionAnswer(serializers.Serializer):
    number = serializers.IntegerField()
    status = serializers.ChoiceField(choices=[status.value for status in ActaStatus])
    failed_rules = serializers.ListField(child=serializers.ChoiceField(choices=RULES))
    differing_fields = serializers.ListField(child=serializers.CharField())
    opened_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    decided_by = serializers.CharField(allow_null=True, help_text="the supervisor; null when entries agreed")
    reason = serializers.CharField(allow_null=True)
    chosen_entry = serializers.UUIDField(allow_null=True, help_text="acta_id of the entry that counts")
    entries = ActaEntryAnswer(many=True)


class ActaAnswer(serializers.Serializer):
    mesa = serializers.IntegerField()
    papeleta = serializers.CharField()
    status = serializers.ChoiceField(choices=[status.value for status in ActaStatus])
    failed_rules = serializers.ListField(child=serializers.ChoiceField(choices=RULES))
    differing_fields = serializers.ListField(child=serializers.CharField())
    image_sha256 = serializers.CharField(allow_null=True)
    counted = ActaNumbers(allow_null=True, help_text="The numbers that count, or null")
    versions = ActaVersionAnswer(many=True)
    stream = serializers.DictField(
        child=serializers.IntegerField(), help_text="Ballots streamed naming this mesa, per sigla"
    )
    discrepancy = serializers.BooleanField(
        allow_null=True, help_text="stream differs from counted; null when there is nothing to compare"
    )


class ActaListed(serializers.Serializer):
    mesa = serializers.IntegerField()
    papeleta = serializers.CharField()
    departamento = serializers.CharField()
    municipio = serializers.CharField()
    status = serializers.ChoiceField(choices=[status.value for status in ActaStatus])
    failed_rules = serializers.ListField(child=serializers.ChoiceField(choices=RULES))
    differing_fields = serializers.ListField(child=serializers.CharField())
    discrepancy = serializers.BooleanField(allow_null=True)


class ActaListAnswer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ActaListed(many=True)


class ActaProgressFields(serializers.Serializer):
    """How far the count of actas has come in an area: in the progress answer and the area view."""

    actas_expected = serializers.IntegerField(help_text="One per mesa of the area")
    actas_counted = serializers.IntegerField()
    actas_inconsistent = serializers.IntegerField()
    actas_in_review = serializers.IntegerField()
    actas_pending = serializers.IntegerField()
    percent_counted = serializers.FloatField(help_text="Of the actas expected; two decimals")
    padron = serializers.IntegerField(help_text="Registered voters of the counted actas' mesas")
    voters = serializers.IntegerField(help_text="Who voted at those mesas")
    turnout_percent = serializers.FloatField(help_text="voters of padron; two decimals")


class ProgressAnswer(ActaProgressFields):
    papeleta = serializers.CharField()
    departamento = serializers.CharField(allow_null=True)
    municipio = serializers.CharField(allow_null=True)
    valid = serializers.IntegerField()
    nulos = serializers.IntegerField()
    blancos = serializers.IntegerField()
    cast = serializers.IntegerField()
