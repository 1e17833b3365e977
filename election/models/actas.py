"""The tally sheets (actas), typed twice: entries, versions, heads and their counted tallies
(election/actas/)."""

from __future__ import annotations

from django.db import models

from election.models.catalogue import SEDE_MAX_LENGTH, Departamento, Mesa, Municipio, Papeleta, Partido
from election.models.votes import Route


class ActaStatusChoice(models.TextChoices):  # election.actas.types.ActaStatus, for the columns
    PENDING = "pending", "Pendiente"
    COUNTED = "counted", "Contabilizada"
    INCONSISTENT = "inconsistent", "Inconsistente"
    IN_REVIEW = "in_review", "En revisión"


ACTA_ROUTE_ADMIN = "admin"  # an entry a supervisor typed in the admin
ACTA_ROUTES = [*Route.choices, (ACTA_ROUTE_ADMIN, "Admin")]


class Acta(models.Model):
    """The head of one mesa's acta of one papeleta: its current state, updated in place (the
    only acta row that is). `counted_entry` holds the numbers in the tallies, or null."""

    mesa = models.ForeignKey(Mesa, on_delete=models.PROTECT, related_name="+")
    papeleta = models.ForeignKey(Papeleta, on_delete=models.PROTECT, related_name="+")
    departamento = models.ForeignKey(Departamento, on_delete=models.PROTECT, related_name="+")
    municipio = models.ForeignKey(Municipio, on_delete=models.PROTECT, related_name="+")
    # Its mesa's, as departamento and municipio are: the key of the per-sede tallies.
    sede = models.CharField(max_length=SEDE_MAX_LENGTH)
    status = models.CharField(max_length=16, choices=ActaStatusChoice.choices)
    failed_rules = models.JSONField(default=list)
    differing_fields = models.JSONField(default=list)
    current_version = models.ForeignKey(
        "ActaVersion", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    counted_entry = models.ForeignKey(
        "ActaEntry", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    updated_at = models.DateTimeField()

    class Meta:
        permissions = [("resolve_acta", "Can resolve an acta in review (choose or type its numbers)")]
        constraints = [models.UniqueConstraint(fields=["mesa", "papeleta"], name="acta_mesa_papeleta_unique")]
        # One index per filter set of the acta list, each ending in the cursor order (mesa, papeleta).
        indexes = [
            models.Index(fields=["status", "mesa", "papeleta"], name="acta_status_idx"),
            models.Index(fields=["status", "papeleta", "mesa"], name="acta_status_pap_idx"),
            models.Index(fields=["status", "departamento", "mesa", "papeleta"], name="acta_dep_idx"),
            models.Index(fields=["status", "departamento", "papeleta", "mesa"], name="acta_dep_pap_idx"),
            models.Index(
                fields=["status", "departamento", "municipio", "mesa", "papeleta"], name="acta_mun_idx"
            ),
            models.Index(
                fields=["status", "departamento", "municipio", "papeleta", "mesa"], name="acta_mun_pap_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"acta mesa {self.mesa_id} {self.papeleta_id} ({self.status})"


class ActaVersion(models.Model):
    """A version of an acta: the first entries, then each correction after it was decided.

    Its status follows its entries until it is decided (by agreeing entries or a supervisor);
    the decision is written once and never changed: another decision opens a new version."""

    acta = models.ForeignKey(Acta, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=ActaStatusChoice.choices)
    failed_rules = models.JSONField(default=list)
    differing_fields = models.JSONField(default=list)
    opened_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.CharField(
        max_length=150, blank=True, default="", help_text="the supervisor; blank when entries agreed"
    )
    reason = models.TextField(null=True, blank=True)  # noqa: DJ001  # the acta's JSON null: no reason given
    chosen_entry = models.ForeignKey(
        "ActaEntry", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )

    class Meta:
        ordering = ["acta", "number"]
        constraints = [models.UniqueConstraint(fields=["acta", "number"], name="acta_version_unique")]

    def __str__(self) -> str:
        return f"version {self.number} of {self.acta_id} ({self.status})"


class ActaEntry(models.Model):
    """One typing of an acta, as received: evidence, written once, never updated."""

    acta_id = models.UUIDField(unique=True)
    version = models.ForeignKey(ActaVersion, on_delete=models.PROTECT, related_name="entries")
    mesa = models.ForeignKey(Mesa, on_delete=models.PROTECT, related_name="+")
    papeleta = models.ForeignKey(Papeleta, on_delete=models.PROTECT, related_name="+")
    votes = models.JSONField(help_text="partido sigla -> votes")
    nulos = models.PositiveIntegerField()
    blancos = models.PositiveIntegerField()
    invalidos = models.PositiveIntegerField()
    impugnados = models.PositiveIntegerField()
    total_valid = models.PositiveIntegerField()
    total_cast = models.PositiveIntegerField()
    voters = models.PositiveIntegerField()
    ballots_received = models.PositiveIntegerField()
    ballots_unused = models.PositiveIntegerField()
    image_sha256 = models.CharField(max_length=64)
    entered_by = models.CharField(max_length=100)
    credential = models.CharField(max_length=64, blank=True, default="")
    corrects = models.BooleanField(default=False)
    reason = models.TextField(null=True, blank=True)  # noqa: DJ001  # the acta's JSON null: no reason given
    route = models.CharField(max_length=8, choices=ACTA_ROUTES)
    failed_rules = models.JSONField(default=list)
    received_at = models.DateTimeField()
    stored_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "acta entries"
        indexes = [models.Index(fields=["mesa", "papeleta"], name="acta_entry_mesa_idx")]

    def __str__(self) -> str:
        return f"entry {self.acta_id} of mesa {self.mesa_id} by {self.entered_by}"


class ActaTally(models.Model):
    """Votes per (departamento, municipio, papeleta, partido) of the counted actas."""

    pk = models.CompositePrimaryKey("departamento", "municipio", "papeleta", "partido")
    departamento = models.ForeignKey(Departamento, on_delete=models.PROTECT, related_name="+")
    municipio = models.ForeignKey(Municipio, on_delete=models.PROTECT, related_name="+")
    papeleta = models.ForeignKey(Papeleta, on_delete=models.PROTECT, related_name="+")
    partido = models.ForeignKey(Partido, on_delete=models.PROTECT, related_name="+")
    votes = models.BigIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["papeleta", "departamento"], name="acta_tally_papeleta_idx")]

    def __str__(self) -> str:
        return f"{self.municipio_id} {self.papeleta_id} {self.partido_id}: {self.votes}"


class ActaSedeTally(models.Model):
    """Ballots cast (valid, nulos, blancos) per sede and papeleta of the counted actas: the
    top sedes from the actas, as SedeTally is from the stream. An acta's sede is its mesa's."""

    pk = models.CompositePrimaryKey("departamento", "municipio", "sede", "papeleta")
    departamento = models.ForeignKey(Departamento, on_delete=models.PROTECT, related_name="+")
    municipio = models.ForeignKey(Municipio, on_delete=models.PROTECT, related_name="+")
    sede = models.CharField(max_length=SEDE_MAX_LENGTH)
    papeleta = models.ForeignKey(Papeleta, on_delete=models.PROTECT, related_name="+")
    ballots = models.BigIntegerField(default=0)

    class Meta:
        # The top sedes of a papeleta, ties in sede order, read straight off the index.
        indexes = [
            models.Index(
                fields=["papeleta", "-ballots", "departamento", "municipio", "sede"],
                name="acta_sede_tally_top_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.municipio_id}/{self.sede} {self.papeleta_id}: {self.ballots}"


class ActaSedeTotal(models.Model):
    """ActaSedeTally over all papeletas, so the top sedes never group its rows."""

    pk = models.CompositePrimaryKey("departamento", "municipio", "sede")
    departamento = models.ForeignKey(Departamento, on_delete=models.PROTECT, related_name="+")
    municipio = models.ForeignKey(Municipio, on_delete=models.PROTECT, related_name="+")
    sede = models.CharField(max_length=SEDE_MAX_LENGTH)
    ballots = models.BigIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(
                fields=["-ballots", "departamento", "municipio", "sede"], name="acta_sede_total_top_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.municipio_id}/{self.sede}: {self.ballots}"


class ActaProgress(models.Model):
    """Per (departamento, municipio, papeleta): actas by status, and the counted actas' sums
    (padrón and voters of their mesas, valid, nulos, blancos, cast)."""

    pk = models.CompositePrimaryKey("departamento", "municipio", "papeleta")
    departamento = models.ForeignKey(Departamento, on_delete=models.PROTECT, related_name="+")
    municipio = models.ForeignKey(Municipio, on_delete=models.PROTECT, related_name="+")
    papeleta = models.ForeignKey(Papeleta, on_delete=models.PROTECT, related_name="+")
    actas_counted = models.BigIntegerField(default=0)
    actas_inconsistent = models.BigIntegerField(default=0)
    actas_in_review = models.BigIntegerField(default=0)
    actas_pending = models.BigIntegerField(default=0)
    padron = models.BigIntegerField(default=0)
    voters = models.BigIntegerField(default=0)
    valid = models.BigIntegerField(default=0)
    nulos = models.BigIntegerField(default=0)
    blancos = models.BigIntegerField(default=0)
    cast = models.BigIntegerField(default=0)

    class Meta:
        verbose_name_plural = "acta progress"
        indexes = [models.Index(fields=["papeleta", "departamento"], name="acta_progress_papeleta_idx")]

    def __str__(self) -> str:
        return f"{self.municipio_id} {self.papeleta_id}: {self.actas_counted} counted"
