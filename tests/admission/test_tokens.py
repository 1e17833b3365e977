"""election.admission.tokens in one process: tokens stored hashed, bound to a sede, revoked, cached; the
per-sede token bucket; the management command. The routes are tested in test_routes.py, and the
checks during a database partition in tests/pubsub/test_publisher_admission.py.

Tests of the copy's refresher use committed rows (`committed_tokens`): it reads them on a
connection of its own, which cannot see a test's uncommitted transaction.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from election.admission import tokens
from election.admission.credentials import AccessKind
from election.admission.rate_limit import SedeRateLimiter, Throttled, sede_limiter
from election.admission.tokens import AccessDenied, vote_admit
from election.models import IngestToken
from election.votes.types import StorageUnavailable, VoteInvalid
from scripts.devservices import wait_until

PATZUN_7: dict[str, Any] = {"departamento": "Chimaltenango", "municipio": "Patzun", "sede": 7}


def vote(**changes: Any) -> dict[str, Any]:
    return {**PATZUN_7, "papeleta": "Blanca", "partido": "VAMOS", **changes}


def admit(data: dict[str, Any], token: str | None) -> Any:
    return vote_admit(data, token=token, received_at=datetime.now(UTC))


@pytest.fixture(autouse=True)
def fresh_state() -> Any:
    sede_limiter.reset()
    tokens._tokens.forget()
    yield
    sede_limiter.reset()
    tokens._tokens.forget()


@pytest.fixture
def committed_tokens(committed_db: None) -> Iterator[None]:
    """Token rows committed for real (every thread sees them), none left behind."""
    IngestToken.objects.all().delete()
    tokens._tokens.forget()
    yield
    IngestToken.objects.all().delete()


def test_a_token_is_stored_only_as_its_sha256(db: None) -> None:
    token, row = tokens.token_issue(
        departamento="chimaltenango", municipio="PATZÚN", sede="007", label="mesa 7"
    )
    assert len(token) >= 43  # 32 random bytes, URL-safe base64
    stored = IngestToken.objects.get(pk=row.pk)
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(IngestToken.objects.values().get(pk=row.pk))
    # The sede is resolved like a vote's: INE codes and the canonical sede number.
    assert (stored.departamento_id, stored.municipio_id, stored.sede) == ("04", "0407", "7")


def test_a_sede_token_admits_its_own_sede_in_any_spelling_and_no_other(db: None) -> None:
    token, _ = tokens.token_issue(**PATZUN_7)
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
    token, _ = tokens.token_issue(**PATZUN_7)
    with pytest.raises(VoteInvalid):
        admit(vote(partido="NOPE"), token)


@pytest.mark.parametrize(
    ("sede", "message"),
    [
        ("  ", "This field may not be blank."),
        ("7\x00", "Must not contain control characters."),
        ("x" * 300, "Ensure this field has no more than 32 characters (it has 300)."),
    ],
)
def test_a_token_is_issued_only_for_a_sede_a_vote_could_name(db: None, sede: str, message: str) -> None:
    with pytest.raises(VoteInvalid) as refused:
        tokens.token_issue(**{**PATZUN_7, "sede": sede})
    assert refused.value.errors == {"sede": [message]}
    assert not IngestToken.objects.exists()


@override_settings(INGEST_TOKEN="shared-demo-token")
def test_the_shared_token_admits_every_sede(db: None) -> None:
    assert admit(vote(), "shared-demo-token").municipio == "Patzún"
    assert admit(vote(departamento="Peten", municipio="Flores", sede=3), "shared-demo-token").sede == "3"
    with pytest.raises(AccessDenied):
        admit(vote(), "shared-demo-token-but-longer")


@override_settings(INGEST_TOKEN_CACHE_SECONDS=0.2)
def test_a_revoked_token_is_refused_once_the_cache_expires(committed_tokens: None) -> None:
    token, row = tokens.token_issue(**PATZUN_7)
    admit(vote(), token)
    # Another process revoked it: this process learns it from its refresher, within the cache time.
    IngestToken.objects.filter(pk=row.pk).update(revoked_at=datetime.now(UTC))
    wait_until(lambda: tokens._tokens.lookup(tokens.token_hash(token)) is None, 5, "the revocation seen")
    with pytest.raises(AccessDenied) as refused:
        admit(vote(), token)
    assert refused.value.kind is AccessKind.UNAUTHENTICATED


def test_revoking_through_the_service_takes_effect_at_once_in_this_process(db: None) -> None:
    token, row = tokens.token_issue(**PATZUN_7)
    admit(vote(), token)
    assert tokens.token_revoke(token_id=row.pk) is True
    assert tokens.token_revoke(token_id=row.pk) is False  # already revoked
    with pytest.raises(AccessDenied):
        admit(vote(), token)


def test_a_token_issued_elsewhere_is_refused_once_then_known_from_the_refresh_it_asked(
    committed_tokens: None,
) -> None:
    tokens.tokens_warm()  # the copy, loaded; the next periodic refresh is 30 s away
    token = "issued-by-another-process-" + "x" * 20
    IngestToken.objects.create(
        token_hash=tokens.token_hash(token), departamento_id="04", municipio_id="0407", sede="7"
    )
    with pytest.raises(AccessDenied):  # not in the copy: refused now, never waiting for the database
        tokens.token_authenticate(token)
    wait_until(lambda: _known(token), 5, "the token known after the refresh it asked for")
    assert tokens.token_authenticate(token).sede == ("04", "0407", "7")


def _known(token: str) -> bool:
    try:
        return tokens._tokens.lookup(tokens.token_hash(token)) is not None
    except StorageUnavailable:  # no copy yet
        return False


def test_checks_never_touch_the_database_once_the_copy_is_loaded(
    committed_tokens: None, django_db_blocker: Any
) -> None:
    token, _ = tokens.token_issue(**PATZUN_7)
    tokens.tokens_warm()
    tried = tokens._tokens.attempts
    with django_db_blocker.block():  # any query now raises, in every thread
        assert tokens.token_authenticate(token).sede == ("04", "0407", "7")
        for n in range(50):  # they ask the refresher for a refresh, which fails in its thread
            with pytest.raises(AccessDenied):
                tokens.token_authenticate(f"made-up-{n}")
        # and tries again a second after the end of the failure, while checks go on
        wait_until(lambda: tokens._tokens.attempts >= tried + 2, 10, "two refreshes tried")
        assert tokens.token_authenticate(token).sede == ("04", "0407", "7")  # the copy stays


def test_a_refused_token_asks_for_no_second_refresh_and_the_memory_of_it_is_bounded(
    committed_tokens: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    tokens.tokens_warm()
    with pytest.raises(AccessDenied):
        tokens.token_authenticate("stolen-and-revoked")
    wait_until(lambda: not tokens._tokens._requested, 5, "the refresh it asked for taken")
    for _ in range(100):  # a client stuck on a revoked token
        with pytest.raises(AccessDenied):
            tokens.token_authenticate("stolen-and-revoked")
    assert not tokens._tokens._requested  # it asked for nothing more

    monkeypatch.setattr(tokens, "UNKNOWN_TOKENS_MAX", 50)
    for n in range(500):
        with pytest.raises(AccessDenied):
            tokens.token_authenticate(f"made-up-{n}")
    assert len(tokens._tokens._unknown) == 50


def test_without_a_copy_the_first_check_reads_it_and_then_checks_never_wait(
    committed_tokens: None, django_db_blocker: Any
) -> None:
    token, _ = tokens.token_issue(**PATZUN_7)
    with django_db_blocker.block():
        with pytest.raises(StorageUnavailable):
            tokens.token_authenticate(token)  # the first check tried to read the copy: failed
        with pytest.raises(StorageUnavailable):
            tokens.token_authenticate(token)  # the next ones do not try: the refresher does
    wait_until(lambda: _known(token), 10, "the refresher's copy")
    assert tokens.token_authenticate(token).sede == ("04", "0407", "7")


@override_settings(INGEST_RATE_PER_SEDE=2, INGEST_RATE_BURST=3)
def test_the_token_bucket_admits_the_burst_then_the_rate_per_sede() -> None:
    limiter = SedeRateLimiter()
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
    limiter = SedeRateLimiter()
    for _ in range(1000):
        limiter.take(("04", "0407", "7"))


def test_the_command_issues_prints_once_lists_without_tokens_and_revokes(db: None) -> None:
    out = StringIO()
    call_command("ingest_tokens", "issue", "--departamento", "Chimaltenango", "--municipio", "Patzun",
                 "--sede", "7", "--label", "mesa 7", stdout=out)  # fmt: skip
    token = out.getvalue().strip().splitlines()[-1]
    row = IngestToken.objects.get()
    assert row.token_hash == tokens.token_hash(token)

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
        tokens.token_issue(**PATZUN_7)
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
    upper, _ = tokens.token_issue(**place, sede="ESCUELA A")
    lower, _ = tokens.token_issue(**place, sede="Escuela A")
    assert tokens.tokens_revoke_for_sede(**place, sede="ESCUELA A") == 1
    tokens._tokens.forget()
    assert tokens.token_authenticate(lower).sede == ("17", "1701", "Escuela A")
    with pytest.raises(AccessDenied):
        tokens.token_authenticate(upper)
