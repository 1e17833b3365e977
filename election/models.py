"""The catalogue an election is validated against, the votes, and their running tallies."""

from __future__ import annotations

from django.db import models


class Departamento(models.Model):
    code = models.CharField(max_length=2, primary_key=True)
    nombre = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.nombre


class Municipio(models.Model):
    code = models.CharField(max_length=4, primary_key=True, help_text="INE code DDMM")
    departamento = models.ForeignKey(Departamento, on_delete=models.PROTECT, related_name="municipios")
    nombre = models.CharField(max_length=100)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["departamento", "nombre"], name="municipio_unique_name")
        ]

    def __str__(self) -> str:
        return f"{self.nombre} ({self.departamento_id})"


class MunicipioAlias(models.Model):
    municipio = models.ForeignKey(Municipio, on_delete=models.CASCADE, related_name="aliases")
    alias = models.CharField(max_length=100)

    class Meta:
        verbose_name_plural = "municipio aliases"
        constraints = [models.UniqueConstraint(fields=["municipio", "alias"], name="municipio_alias_unique")]

    def __str__(self) -> str:
        return self.alias


class Papeleta(models.Model):
    code = models.CharField(max_length=32, primary_key=True)
    color = models.CharField(max_length=32, unique=True)
    nombre = models.CharField(max_length=200)

    def __str__(self) -> str:
        return f"{self.code} ({self.color})"


class PartidoKind(models.TextChoices):
    """What a ballot marked for this catalogue row counts as (the TSE's acta lines)."""

    VALID = "valid", "Voto válido"
    NULO = "nulo", "Voto nulo"
    BLANCO = "blanco", "Voto en blanco"


class Partido(models.Model):
    """A partido, or one of the two rows a null or blank ballot is recorded against.

    Null and blank ballots are rows here so that a vote always names one row and every tally
    keeps working by partido; `kind` tells them apart wherever shares are computed.
    """

    sigla = models.CharField(max_length=32, primary_key=True)
    nombre = models.CharField(max_length=200)
    kind = models.CharField(
        max_length=8,
        choices=PartidoKind.choices,
        default=PartidoKind.VALID,
        help_text="valid for a partido; nulo or blanco for the rows null and blank ballots count against",
    )

    class Meta:
        ordering = ["sigla"]

    def __str__(self) -> str:
        return self.sigla


class PartidoAlias(models.Model):
    partido = models.ForeignKey(Partido, on_delete=models.CASCADE, related_name="aliases")
    alias = models.CharField(max_length=100, unique=True)

    class Meta:
        verbose_name_plural = "partido aliases"

    def __str__(self) -> str:
        return self.alias


SEDE_MAX_LENGTH = 32


class Mesa(models.Model):
    """A junta receptora de votos (JRV): numbered nationally, in one sede of one municipio.

    Loaded from a CSV file by `manage.py load_mesas` (election/catalogue/mesa_load.py).
    """

    numero = models.PositiveIntegerField(primary_key=True, help_text="JRV number, unique nationally")
    departamento = models.ForeignKey(Departamento, on_delete=models.PROTECT, related_name="+")
    municipio = models.ForeignKey(Municipio, on_delete=models.PROTECT, related_name="+")
    # As a vote's sede (catalogue/sedes.py sede_canonical): "007" is stored "7"; byte-exact (0009).
    sede = models.CharField(max_length=SEDE_MAX_LENGTH)
    padron = models.PositiveIntegerField(help_text="Registered voters of the mesa")

    class Meta:
        ordering = ["numero"]
        # One index per filter set of the mesa list (catalogue/mesa_selectors.py): InnoDB ends
        # each with the primary key, so a page in mesa order is read straight off it.
        indexes = [
            models.Index(fields=["departamento"], name="mesa_departamento_idx"),
            models.Index(fields=["departamento", "municipio"], name="mesa_municipio_idx"),
            models.Index(fields=["departamento", "municipio", "sede"], name="mesa_sede_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(numero__gte=1), name="mesa_numero_positive"),
            models.CheckConstraint(condition=models.Q(padron__gte=1), name="mesa_padron_positive"),
        ]

    def __str__(self) -> str:
        return f"mesa {self.numero} ({self.municipio_id}/{self.sede})"


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


# --- Access: who may report votes (election/admission/tokens.py) -----------------------


class IngestToken(models.Model):
    """A credential for the ingest entry points: a sede's (its votes and its mesas' actas) or a
    digitador's (any mesa's actas, no votes). Only its SHA-256 is stored."""

    token_hash = models.CharField(max_length=64, unique=True, help_text="hex SHA-256 of the token")
    departamento = models.ForeignKey(
        Departamento, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    municipio = models.ForeignKey(
        Municipio, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    sede = models.CharField(max_length=SEDE_MAX_LENGTH, blank=True, default="")
    digitador = models.CharField(
        max_length=100, blank=True, default="", help_text="a digitador's token: who types the actas"
    )
    label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["departamento", "municipio", "sede"], name="ingest_token_sede_idx")]
        constraints = [
            # Either a sede's token (its whole sede) or a digitador's (a name, no sede).
            models.CheckConstraint(
                condition=(
                    models.Q(digitador="", departamento__isnull=False, municipio__isnull=False)
                    & ~models.Q(sede="")
                )
                | models.Q(departamento__isnull=True, municipio__isnull=True, sede="")
                & ~models.Q(digitador=""),
                name="ingest_token_sede_or_digitador",
            )
        ]

    def __str__(self) -> str:
        state = "revoked" if self.revoked_at else "active"
        if self.digitador:
            return f"token {self.pk} of digitador {self.digitador} ({state})"
        return f"token {self.pk} for {self.municipio_id}/{self.sede} ({state})"


# --- Actas: the tally sheets, typed twice (election/actas/) --------------------------------


class PapeletaPartido(models.Model):
    """A partido on a papeleta's ballot. A papeleta with no rows lists every valid partido."""

    papeleta = models.ForeignKey(Papeleta, on_delete=models.CASCADE, related_name="+")
    partido = models.ForeignKey(Partido, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["papeleta", "partido"], name="papeleta_partido_unique")
        ]

    def __str__(self) -> str:
        return f"{self.papeleta_id}: {self.partido_id}"


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
