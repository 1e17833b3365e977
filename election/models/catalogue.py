"""The catalogue an election is validated against: places, mesas, papeletas and partidos."""

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
