"""Who may report votes and actas (election/admission/tokens.py)."""

from __future__ import annotations

from django.db import models

from election.models.catalogue import SEDE_MAX_LENGTH, Departamento, Municipio


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
