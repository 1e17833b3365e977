"""A supervisor's decision on an acta in review (or inconsistent): one of its entries, or a
third typed by the supervisor, with a reason. The admin calls it; it checks no permission
(the admin does: `election.resolve_acta`).

The decision is written once on a version; an acta whose version was decided already (an
inconsistent one) gets a new version for it. The tallies move in the same transaction.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone

from election.actas.checks import numbers_failed_rules
from election.actas.recording import states_difference
from election.actas.tallies import tallies_move
from election.actas.types import COUNT_FIELDS, ActaStatus
from election.actas.versions import KeyState
from election.models import ACTA_ROUTE_ADMIN, Acta, ActaEntry, ActaVersion, Mesa

RESOLVABLE = (ActaStatus.IN_REVIEW, ActaStatus.INCONSISTENT)


class ResolutionRefused(ValueError):
    """Why this acta cannot be resolved so (readable: the admin shows it)."""


def acta_resolve(
    *,
    acta_pk: int,
    supervisor: str,
    reason: str,
    entry_pk: int | None = None,
    numbers: dict[str, Any] | None = None,
) -> Acta:
    """Decide the acta's current version on entry `entry_pk` of it, or on `numbers` (votes by
    sigla and every count) typed by the supervisor; counted unless a rule fails."""
    if not reason.strip():
        raise ResolutionRefused("Una decisión necesita su motivo.")
    if (entry_pk is None) == (numbers is None):
        raise ResolutionRefused("Elija una entrada o escriba los números, no ambas cosas.")
    now = timezone.now()
    with transaction.atomic():
        head = Acta.objects.select_for_update().get(pk=acta_pk)
        version = ActaVersion.objects.get(pk=head.current_version_id)  # type: ignore[misc]
        if version.status not in RESOLVABLE:
            raise ResolutionRefused(
                f"El acta está {version.status}: solo se resuelve en revisión o inconsistente."
            )
        padron = Mesa.objects.values_list("padron", flat=True).get(numero=head.mesa_id)  # type: ignore[misc]
        entries = list(version.entries.order_by("pk"))
        counted = ActaEntry.objects.filter(pk=head.counted_entry_id).first()  # type: ignore[misc]
        state = KeyState(head, version, entries, padron, head.status, counted)
        if numbers is not None:
            chosen = _typed_entry(head, entries, numbers, supervisor, reason, padron, now)
        else:
            chosen = next((e for e in entries if e.pk == entry_pk), None)  # type: ignore[assignment]
            if chosen is None:
                raise ResolutionRefused("Esa entrada no es de la versión en revisión.")
        if version.decided_at is not None:
            state.version_open(now)
        if chosen.pk is None:
            chosen.version = state.version
        if state.new_versions:
            ActaVersion.objects.bulk_create(state.new_versions)
        if chosen.pk is None:
            chosen.save()
        state.decide(chosen, now=now, by=supervisor, reason=reason.strip())
        state.head_follow(now)
        state.version.save()
        head.save()
        tallies_move(states_difference([state]))
    return head


def _typed_entry(
    head: Acta,
    entries: list[ActaEntry],
    numbers: dict[str, Any],
    supervisor: str,
    reason: str,
    padron: int,
    now: Any,
) -> ActaEntry:
    try:
        votes = {str(s): int(v) for s, v in dict(numbers["votes"]).items()}
        counts = {name: int(numbers[name]) for name in COUNT_FIELDS}
    except (KeyError, TypeError, ValueError) as exc:
        raise ResolutionRefused(f"Faltan números o no son enteros: {exc}") from exc
    if any(v < 0 for v in (*votes.values(), *counts.values())):
        raise ResolutionRefused("Ningún número puede ser negativo.")
    expected = set(entries[0].votes) if entries else set(votes)
    if set(votes) != expected:
        raise ResolutionRefused(f"Los votos deben nombrar exactamente: {', '.join(sorted(expected))}.")
    rules = numbers_failed_rules(
        votes_sum=sum(votes.values()),
        total_valid=counts["total_valid"],
        nulos=counts["nulos"],
        blancos=counts["blancos"],
        total_cast=counts["total_cast"],
        invalidos=counts["invalidos"],
        voters=counts["voters"],
        padron=padron,
        ballots_received=counts["ballots_received"],
        ballots_unused=counts["ballots_unused"],
    )
    return ActaEntry(
        acta_id=uuid.uuid4(),
        mesa_id=head.mesa_id,
        papeleta_id=head.papeleta_id,
        votes=dict(sorted(votes.items())),
        **counts,
        image_sha256=entries[0].image_sha256 if entries else "0" * 64,
        entered_by=supervisor,
        credential=f"admin:{supervisor}",
        corrects=False,
        reason=reason.strip(),
        route=ACTA_ROUTE_ADMIN,
        failed_rules=list(rules),
        received_at=now,
        stored_at=now,
    )
