"""acta_admit: a sede's token for its own mesas only, a digitador's for any mesa, the credential
set; and `ingest_tokens issue --digitador`."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from election.admission.actas import acta_admit
from election.admission.credentials import AccessKind
from election.admission.rate_limit import Throttled, sede_limiter
from election.admission.tokens import AccessDenied, token_issue, token_issue_digitador, vote_admit
from election.catalogue.mesa_index import mesa_index_clear
from tests.support.actas import CLEAN_MESA, sample_mesas_load, typed


@pytest.fixture
def mesas(db):  # type: ignore[no-untyped-def]
    yield sample_mesas_load()
    mesa_index_clear()


def test_a_sede_s_token_submits_its_own_mesas_actas_only(mesas) -> None:  # type: ignore[no-untyped-def]
    own, row = token_issue(departamento="Escuintla", municipio="Tiquisate", sede=881)
    acta = acta_admit(typed(CLEAN_MESA), token=own, received_at=timezone.now())
    assert acta.credential == f"token:{row.pk}" and acta.mesa == CLEAN_MESA
    with pytest.raises(AccessDenied) as refused:
        acta_admit(typed(1), token=own, received_at=timezone.now())
    assert refused.value.kind == AccessKind.FORBIDDEN


def test_a_digitador_s_token_submits_any_mesa_s_acta_but_no_vote(mesas) -> None:  # type: ignore[no-untyped-def]
    token, row = token_issue_digitador(digitador="Ana López")
    for mesa in (1, CLEAN_MESA):
        assert (
            acta_admit(typed(mesa), token=token, received_at=timezone.now()).credential == f"token:{row.pk}"
        )
    vote = {
        "departamento": "Escuintla",
        "municipio": "Tiquisate",
        "sede": 881,
        "papeleta": "presidente",
        "partido": "UNE",
    }
    with pytest.raises(AccessDenied) as refused:
        vote_admit(vote, token=token, received_at=timezone.now())
    assert refused.value.kind == AccessKind.FORBIDDEN


def test_unknown_token_is_unauthenticated(mesas) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(AccessDenied) as refused:
        acta_admit(typed(CLEAN_MESA), token="nope", received_at=timezone.now())
    assert refused.value.kind == AccessKind.UNAUTHENTICATED


@pytest.mark.django_db
def test_the_command_issues_a_digitador_s_token_and_lists_it() -> None:
    out = io.StringIO()
    call_command("ingest_tokens", "issue", "--digitador", "Beto", stdout=out)
    assert "for digitador Beto" in out.getvalue()
    listing = io.StringIO()
    call_command("ingest_tokens", "list", stdout=listing)
    assert "\tdigitador\tBeto\t" in listing.getvalue()


def test_a_sede_s_actas_share_its_rate_limit(mesas, settings) -> None:  # type: ignore[no-untyped-def]
    """429 exactly as for votes: the mesa's sede's bucket, whoever types the acta."""
    settings.INGEST_RATE_PER_SEDE, settings.INGEST_RATE_BURST = 1, 2
    sede_limiter.reset()
    token, _ = token_issue_digitador(digitador="Luis Pérez")
    try:
        for _ in range(2):
            acta_admit(typed(CLEAN_MESA), token=token, received_at=timezone.now())
        with pytest.raises(Throttled) as throttled:
            acta_admit(typed(CLEAN_MESA), token=token, received_at=timezone.now())
        assert throttled.value.retry_after_seconds == 1
        acta_admit(typed(1), token=token, received_at=timezone.now())  # another sede's own bucket
    finally:
        sede_limiter.reset()
