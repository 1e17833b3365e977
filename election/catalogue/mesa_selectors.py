"""Reads of the catalogue of mesas (JRV). Every filter set is the whole of one index of Mesa
(departamento; departamento + municipio; departamento + municipio + sede), so a page in mesa
order is read straight off it."""

from __future__ import annotations

from django.db.models import QuerySet

from election.models import Mesa

# PositiveIntegerField: MariaDB's signed INT. A larger number names no mesa.
MESA_NUMBER_MAX = 2_147_483_647


def mesas_filtered(
    *, departamento: str | None = None, municipio: str | None = None, sede: str | None = None
) -> QuerySet[Mesa]:
    """Mesas by number. Codes in; a municipio comes with its departamento, a sede with both."""
    assert municipio is None or departamento is not None, "a municipio is read with its departamento"
    assert sede is None or municipio is not None, "a sede is numbered within its municipio"
    mesas = Mesa.objects.order_by("numero")
    if departamento is not None:
        mesas = mesas.filter(departamento_id=departamento)
    if municipio is not None:
        mesas = mesas.filter(municipio_id=municipio)
    if sede is not None:
        mesas = mesas.filter(sede=sede)
    return mesas


def mesa_get(numero: int) -> Mesa | None:
    if not 1 <= numero <= MESA_NUMBER_MAX:
        return None
    return Mesa.objects.filter(numero=numero).first()
