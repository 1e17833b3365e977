"""election.access in one process: tokens stored hashed, bound to a sede, revoked, cached; the
per-sede token bucket; the management command. The routes are tested in test_routes.py."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from election import access
from election.access import AccessDenied, AccessKind, Throttled, vote_admit
from election.models import IngestToken
from election.services import VoteInvalid

PATZUN_7: dict[str, Any] = {"departamento": "Chimaltenango", "municipio": "Patzun", "sede": 7}


def vote(**changes: Any) -> dict[str, Any]:
    return {**PATZUN_7, "papeleta": "Blanca", "partido": "VAMOS", **changes}


def admit(data: dict[str, Any], token: str | None) -> Any:
    return vote_admit(data, token=token, received_at=datetime.now(UTC))


@pytest.fixture(autouse=True)
def fresh_state() -> Any:
    access.sede_limiter.reset()
    access._tokens.forget()
    yield
    access.sede_limiter.reset()
    access._tokens.forget()


def test_a_token_is_stored_only_as_its_sha256(db: None) -> None:
    token, row = access.token_issue(
        departamento="chimaltenango", municipio="PATZÚN", sede="007", label="mesa 7"
    )
    assert len(token) >= 43  # 32 random bytes, URL-safe base64
    stored = IngestToken.objects.get(pk=row.pk)
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(IngestToken.objects.values().get(pk=row.pk))
    # The sede is resolved like a vote's: INE codes and the canonical sede number.
    assert (stored.departamento_id, stored.municipio_id, stored.sede) == ("04", "0407", "7")


def test_a_sede_token_admits_its_own_sede_in_any_spelling_and_no_other(db: None) -> None:
    token, _ = access.token_issue(**PATZUN_7)
    assert admit(vote(municipio="Patzún", sede="007"), token).sede == "7"
    with pytest.raises(AccessDenied) as other_sede:
        admit(vote(sede=8), token)
    assert other_sede.value.kind is AccessKind.FORBIDDEN
    assert "sede 7" in other_sede.value.message and "sede 8" in other_sede.value.message
    with pytest.raises(AccessDenied) as other_municipio:
        admit(vote(departamento="Guatemala", municipio="Mixco"), token)
    assert other_municipio.value.kind is AccessKind.FORBIDDEN


@pytest.mark.parametrize("token", [None, "", "not-a-token"])
def test_a_missing_or_unknown_token_is_unauthenticated_before_validation(db: None, token: str | None) -> None:
    with pytest.raises(AccessDenied) as refused:
        admit({"sede": "nonsense"}, token)  # invalid too, but the credential comes first
    assert refused.value.kind is AccessKind.UNAUTHENTICATED


def test_an_invalid_vote_with_a_good_token_is_invalid(db: None) -> None:
    token, _ = access.token_issue(**PATZUN_7)
    with pytest.raises(VoteInvalid):
        admit(vote(partido="NOPE"), token)


@override_settings(INGEST_TOKEN="shared-demo-token")
def test_the_shared_token_admits_every_sede(db: None) -> None:
    assert admit(vote(), "shared-demo-token").municipio == "Patzún"
    assert admit(vote(departamento="Peten", municipio="Flores", sede=3), "shared-demo-token").sede == "3"
    with pytest.raises(AccessDenied):
        admit(vote(), "shared-demo-token-but-longer")


@override_settings(INGEST_TOKEN_CACHE_SECONDS=0.2)
def test_a_revoked_token_is_refused_once_the_cache_expires(db: None) -> None:
    token, row = access.token_issue(**PATZUN_7)
    admit(vote(), token)
    # Another process revoked it: this process only learns it when its copy expires.
    IngestToken.objects.filter(pk=row.pk).update(revoked_at=datetime.now(UTC))
    time.sleep(0.3)
    with pytest.raises(AccessDenied) as refused:
        admit(vote(), token)
    assert refused.value.kind is AccessKind.UNAUTHENTICATED


def test_revoking_through_the_service_takes_effect_at_once_in_this_process(db: None) -> None:
    token, row = access.token_issue(**PATZUN_7)
    admit(vote(), token)
    assert access.token_revoke(token_id=row.pk) is True
    assert access.token_revoke(token_id=row.pk) is False  # already revoked
    with pytest.raises(AccessDenied):
        admit(vote(), token)


def test_a_token_issued_elsewhere_works_without_waiting_for_the_cache(db: None) -> None:
    access.token_issue(departamento="Peten", municipio="Flores", sede=1)  # loads the cache
    admit_ok = access.token_authenticate  # the cache is warm now
    token = "issued-by-another-process-" + "x" * 20
    IngestToken.objects.create(
        token_hash=access.token_hash(token), departamento_id="04", municipio_id="0407", sede="7"
    )
    time.sleep(access.MISS_RELOAD_SECONDS)
    assert admit_ok(token).sede == ("04", "0407", "7")


@override_settings(INGEST_RATE_PER_SEDE=2, INGEST_RATE_BURST=3)
def test_the_token_bucket_admits_the_burst_then_the_rate_per_sede() -> None:
    limiter = access.SedeRateLimiter()
    sede = ("04", "0407", "7")
    for _ in range(3):
        limiter.take(sede)
    with pytest.raises(Throttled) as throttled:
        limiter.take(sede)
    assert 0 < throttled.value.retry_after <= 0.5  # one token every 1/2 s
    assert throttled.value.retry_after_seconds == 1
    limiter.take(("04", "0407", "8"))  # another sede has its own bucket
    time.sleep(throttled.value.retry_after + 0.05)
    limiter.take(sede)
    with pytest.raises(Throttled):
        limiter.take(sede)


@override_settings(INGEST_RATE_PER_SEDE=0)
def test_a_rate_of_zero_turns_the_limit_off() -> None:
    limiter = access.SedeRateLimiter()
    for _ in range(1000):
        limiter.take(("04", "0407", "7"))


def test_the_command_issues_prints_once_lists_without_tokens_and_revokes(db: None) -> None:
    out = StringIO()
    call_command("ingest_tokens", "issue", "--departamento", "Chimaltenango", "--municipio", "Patzun",
                 "--sede", "7", "--label", "mesa 7", stdout=out)  # fmt: skip
    token = out.getvalue().strip().splitlines()[-1]
    row = IngestToken.objects.get()
    assert row.token_hash == access.token_hash(token)

    listing = StringIO()
    call_command("ingest_tokens", "list", stdout=listing)
    assert "mesa 7" in listing.getvalue() and "Patzún" in listing.getvalue()
    assert token not in listing.getvalue() and row.token_hash not in listing.getvalue()

    call_command("ingest_tokens", "revoke", "--id", str(row.pk), stdout=StringIO())
    assert IngestToken.objects.get().revoked_at is not None
    with pytest.raises(CommandError, match="no active token"):
        call_command("ingest_tokens", "revoke", "--id", str(row.pk), stdout=StringIO())
    assert "mesa 7" not in _list()
    assert "mesa 7" in _list("--all")


def test_the_command_revokes_every_token_of_a_sede_and_refuses_unknown_places(db: None) -> None:
    for _ in range(2):
        access.token_issue(**PATZUN_7)
    out = StringIO()
    call_command(
        "ingest_tokens", "revoke", "--departamento", "04", "--municipio", "0407", "--sede", "007", stdout=out
    )
    assert "revoked 2" in out.getvalue()
    with pytest.raises(CommandError, match="Atlantis"):
        call_command(
            "ingest_tokens", "issue", "--departamento", "Atlantis", "--municipio", "X", "--sede", "1"
        )


def _list(*args: str) -> str:
    out = StringIO()
    call_command("ingest_tokens", "list", *args, stdout=out)
    return out.getvalue()


def test_revoking_a_sede_s_tokens_spares_a_sede_that_differs_only_in_case(db: None) -> None:
    place = {"departamento": "Peten", "municipio": "Flores"}
    upper, _ = access.token_issue(**place, sede="ESCUELA A")
    lower, _ = access.token_issue(**place, sede="Escuela A")
    assert access.tokens_revoke_for_sede(**place, sede="ESCUELA A") == 1
    access._tokens.forget()
    assert access.token_authenticate(lower).sede == ("17", "1701", "Escuela A")
    with pytest.raises(AccessDenied):
        access.token_authenticate(upper)
