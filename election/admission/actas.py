"""Who may submit an acta: the admission of both routes' POST /actas.

As for votes (election.admission.tokens): the token is known (401), the acta is valid (400),
the token covers its mesa (403: a sede's token, only its own mesas' actas; a digitador's,
any mesa), and the mesa's sede is within its rate (429). The acta leaves carrying who typed
it: `credential` is `token:<id>`, or `shared` for the shared INGEST_TOKEN.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from election.actas.types import ValidatedActa
from election.actas.validation import acta_validate
from election.admission.credentials import AccessKind
from election.admission.rate_limit import sede_limiter
from election.admission.tokens import AccessDenied, Grant, token_authenticate


def acta_admit(data: Mapping[str, Any] | Any, *, token: str | None, received_at: datetime) -> ValidatedActa:
    """Authenticate, validate, authorize, rate-limit; AccessDenied, ActaInvalid or Throttled."""
    return grant_admit_acta(data, grant=token_authenticate(token), received_at=received_at)


def grant_admit_acta(data: Mapping[str, Any] | Any, *, grant: Grant, received_at: datetime) -> ValidatedActa:
    """`acta_admit` after `token_authenticate` (the publisher's two halves)."""
    acta = acta_validate(data, received_at=received_at)
    sede = (acta.departamento_code, acta.municipio_code, acta.sede)
    if grant.digitador is None and grant.sede is not None and grant.sede != sede:
        departamento, municipio, own = grant.sede
        raise AccessDenied(
            AccessKind.FORBIDDEN,
            f"This token is for sede {own} of municipio {municipio} (departamento {departamento}); "
            f"mesa {acta.mesa} is in sede {acta.sede} of municipio {acta.municipio_code}.",
        )
    sede_limiter.take(sede)
    credential = "shared" if grant.token_id is None else f"token:{grant.token_id}"
    return replace(acta, credential=credential)
