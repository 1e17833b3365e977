"""The ballots streamed one by one, and the running tallies their recording transaction keeps in step."""

from __future__ import annotations

from django.db import models

from election.models.catalogue import SEDE_MAX_LENGTH, Departamento, Municipio, Papeleta, Partido


class Route(models.TextChoices):
    GRPC = "grpc", "gRPC"
    REDIS = "redis", "Redis"


class Vote(models.Model):
    """One ballot as reported by a sede. Evidence: written once, never updated."""

    vote_id = models.UUIDField(unique=True)
    sede = models.CharField(max_length=SEDE_MAX_LENGTH)
    departamento = models.ForeignKey(Departamento, on_delete=models.PROTECT, related_name="+")
    municipio = models.ForeignKey(Municipio, on_delete=models.PROTECT, related_name="+")
    papeleta = models.ForeignKey(Papeleta, on_delete=models.PROTECT, related_name="+")
    partido = models.ForeignKey(Partido, on_delete=models.PROTECT, related_name="+")
    # The JRV number as the vote gave it (checked against Mesa when it was validated). A number,
    # not a foreign key: evidence as reported, like `sede`, and a catalogue reloaded for another
    # election never has to touch the votes.
    mesa = models.PositiveIntegerField(null=True, blank=True, help_text="Mesa (JRV) the ballot was cast at")
    route = models.CharField(max_length=8, choices=Route.choices)
    received_at = models.DateTimeField(help_text="Stamped at the edge (gateway or publisher)")
    stored_at = models.DateTimeField(help_text="Stamped by the transaction that stored it")

    class Meta:
        # One index per filter set the vote list serves (selectors.VOTE_FILTER_SETS), and
        # nothing after its columns: InnoDB ends each with the primary key, so a page, newest
        # first from a cursor, is read straight off the index (tests/api/test_query_plans.py).
        indexes = [
            models.Index(fields=["departamento"], name="vote_departamento_idx"),
            models.Index(fields=["municipio"], name="vote_municipio_idx"),
            # A sede is (departamento, municipio, sede): its number repeats in every municipio.
            models.Index(fields=["departamento", "municipio", "sede"], name="vote_sede_idx"),
            models.Index(fields=["papeleta"], name="vote_papeleta_idx"),
            models.Index(fields=["partido"], name="vote_partido_idx"),
            models.Index(fields=["papeleta", "partido"], name="vote_papeleta_partido_idx"),
            models.Index(fields=["route"], name="vote_route_idx"),
        ]

    def __str__(self) -> str:
        return str(self.vote_id)


# --- Tallies: kept in step with Vote by the recording transaction ------------


# Each tally's primary key is its key: an upsert finds its row in the clustered index at once.
# (With a surrogate id, InnoDB inserted a new row, hit the unique key, undid the insert and then
# updated: about a fifth of MariaDB's CPU a vote, measured.)


class AreaTally(models.Model):
    """Votes per (departamento, municipio, papeleta, partido): at most 340 x 5 x 26 rows."""

    pk = models.CompositePrimaryKey("departamento", "municipio", "papeleta", "partido")
    departamento = models.ForeignKey(Departamento, on_delete=models.PROTECT, related_name="+")
    municipio = models.ForeignKey(Municipio, on_delete=models.PROTECT, related_name="+")
    papeleta = models.ForeignKey(Papeleta, on_delete=models.PROTECT, related_name="+")
    partido = models.ForeignKey(Partido, on_delete=models.PROTECT, related_name="+")
    votes = models.PositiveBigIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["papeleta", "departamento"], name="area_tally_papeleta_idx")]

    def __str__(self) -> str:
        return f"{self.municipio_id} {self.papeleta_id} {self.partido_id}: {self.votes}"


class SedeTally(models.Model):
    """Votes per sede and papeleta."""

    pk = models.CompositePrimaryKey("departamento", "municipio", "sede", "papeleta")
    departamento = models.ForeignKey(Departamento, on_delete=models.PROTECT, related_name="+")
    municipio = models.ForeignKey(Municipio, on_delete=models.PROTECT, related_name="+")
    sede = models.CharField(max_length=SEDE_MAX_LENGTH)
    papeleta = models.ForeignKey(Papeleta, on_delete=models.PROTECT, related_name="+")
    votes = models.PositiveBigIntegerField(default=0)

    class Meta:
        # The top sedes of a papeleta, ties in sede order, read straight off the index.
        indexes = [
            models.Index(
                fields=["papeleta", "-votes", "departamento", "municipio", "sede"],
                name="sede_tally_top_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.municipio_id}/{self.sede} {self.papeleta_id}: {self.votes}"


class SedeTotal(models.Model):
    """Votes per sede over all papeletas, so the top sedes never group SedeTally rows."""

    pk = models.CompositePrimaryKey("departamento", "municipio", "sede")
    departamento = models.ForeignKey(Departamento, on_delete=models.PROTECT, related_name="+")
    municipio = models.ForeignKey(Municipio, on_delete=models.PROTECT, related_name="+")
    sede = models.CharField(max_length=SEDE_MAX_LENGTH)
    votes = models.PositiveBigIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["-votes", "departamento", "municipio", "sede"], name="sede_total_top_idx")
        ]

    def __str__(self) -> str:
        return f"{self.municipio_id}/{self.sede}: {self.votes}"


class RouteTally(models.Model):
    """Votes per route, papeleta and receipt-to-storage latency bucket (see tallies.py)."""

    pk = models.CompositePrimaryKey("route", "papeleta", "latency_bucket")
    route = models.CharField(max_length=8, choices=Route.choices)
    papeleta = models.ForeignKey(Papeleta, on_delete=models.PROTECT, related_name="+")
    latency_bucket = models.PositiveSmallIntegerField()
    votes = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.route} {self.papeleta_id} bucket {self.latency_bucket}: {self.votes}"


class MesaTally(models.Model):
    """Votes per mesa, papeleta and partido, of the votes that name their mesa: what the stream
    says of a mesa, compared with its acta (results/actas.py). Votes without a mesa add nothing."""

    pk = models.CompositePrimaryKey("mesa", "papeleta", "partido")
    mesa = models.PositiveIntegerField()
    papeleta = models.ForeignKey(Papeleta, on_delete=models.PROTECT, related_name="+")
    partido = models.ForeignKey(Partido, on_delete=models.PROTECT, related_name="+")
    votes = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"mesa {self.mesa} {self.papeleta_id} {self.partido_id}: {self.votes}"
