"""Recording: a batch of typed actas stored in one transaction, idempotently on `acta_id`.

Both routes end in `actas_record`. The batch's heads (one per mesa + papeleta) are locked in
key order, each acta's entry joins its version (election.actas.versions), and the tallies
move by each acta's difference (election.actas.tallies): a fixed number of statements per
batch, none per acta. Never INSERT IGNORE: a stored acta_id is found first, and one stored by
a concurrent batch meanwhile fails the unique key, and the whole batch is tried again.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import TypeVar

from django.conf import settings
from django.db import DatabaseError, IntegrityError, OperationalError, connection, transaction
from django.db.models import Model, Q
from django.utils import timezone

from election.actas.checks import acta_failed_rules
from election.actas.tallies import ActaPlace, Counts, tallies_move
from election.actas.types import COUNT_FIELDS, ActaOutcome, ActaRecordResult, ActaStatus, ValidatedActa
from election.actas.versions import KeyState
from election.models import Acta, ActaEntry, ActaVersion, Mesa, Route
from election.votes.types import StorageUnavailable

M = TypeVar("M", bound=Model)

logger = logging.getLogger(__name__)

RECORD_ATTEMPTS = 5
Key = tuple[int, str]  # mesa, papeleta


def actas_record(*, actas: Sequence[ValidatedActa], route: Route | str) -> list[ActaRecordResult]:
    """Store a batch of validated actas in one transaction; one result per acta, in order.

    An acta_id stored before is not written again: DUPLICATE when its content matches,
    CONFLICT when not (nothing changes). Raises StorageUnavailable when the database cannot
    take the batch after bounded retries; then nothing of it was written.
    """
    if not actas:
        return []
    for attempt in range(1, RECORD_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                return actas_store(actas, str(Route(route)))
        except IntegrityError as exc:
            if not (exc.args and exc.args[0] == 1062):
                raise
            logger.info("acta race, retrying batch", extra={"attempt": attempt})
        except OperationalError as exc:
            code = exc.args[0] if exc.args else None
            if code not in (1205, 1213):  # not a deadlock or lock wait: the database is away
                connection.close()
                raise StorageUnavailable(str(exc)) from exc
            logger.warning("lock conflict, retrying acta batch", extra={"attempt": attempt})
        except DatabaseError as exc:
            connection.close()
            raise StorageUnavailable(str(exc)) from exc
        time.sleep(0.01 * 2**attempt)
    raise StorageUnavailable(f"batch of {len(actas)} actas failed {RECORD_ATTEMPTS} times")


def actas_stored_content(acta_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, tuple[object, ...]]:
    """What is stored under each of these acta_ids (ValidatedActa.content), for the publisher's 409."""
    try:
        return {
            entry.acta_id: entry_content(entry) for entry in ActaEntry.objects.filter(acta_id__in=acta_ids)
        }
    except DatabaseError as exc:
        connection.close()
        raise StorageUnavailable(str(exc)) from exc


def acta_conflict_message(acta_id: uuid.UUID | str) -> str:
    """Why an acta whose acta_id is stored with other content is refused (HTTP 409, ALREADY_EXISTS)."""
    return f"acta_id {acta_id} was stored before with different content; nothing changed."


def entry_content(entry: ActaEntry) -> tuple[object, ...]:
    return (
        entry.mesa_id,
        entry.papeleta_id,
        tuple(sorted(entry.votes.items())),
        *(getattr(entry, name) for name in COUNT_FIELDS),
        entry.image_sha256,
        entry.entered_by,
        entry.corrects,
        entry.reason,
    )


def actas_store(actas: Sequence[ValidatedActa], route: str) -> list[ActaRecordResult]:
    """The batch's writes, in the caller's transaction."""
    now = timezone.now()
    stored = {e.acta_id: e for e in ActaEntry.objects.filter(acta_id__in=[a.acta_id for a in actas])}
    fresh: dict[uuid.UUID, ValidatedActa] = {}
    for acta in actas:
        if acta.acta_id not in stored and acta.acta_id not in fresh:
            fresh[acta.acta_id] = acta
    states = states_lock({(a.mesa, a.papeleta): a for a in fresh.values()}, now)
    entries: dict[uuid.UUID, ActaEntry] = {}
    for acta in fresh.values():
        state = states[(acta.mesa, acta.papeleta)]
        entry = entry_new(acta, route, now, acta_failed_rules(acta, state.padron))
        state.entry_add(entry, now=now, required=settings.ACTA_ENTRIES_REQUIRED)
        entries[acta.acta_id] = entry
    states_save(list(states.values()), list(entries.values()))
    heads = {key: state.head for key, state in states.items()}
    heads |= _heads_of(stored.values(), heads)
    results = []
    reported: set[uuid.UUID] = set()
    for acta in actas:
        head = heads[(acta.mesa, acta.papeleta)]
        if acta.acta_id in entries and acta.acta_id not in reported:
            reported.add(acta.acta_id)
            outcome, rules = ActaOutcome.STORED, entries[acta.acta_id].failed_rules
        else:
            known = entries.get(acta.acta_id) or stored[acta.acta_id]
            same = entry_content(known) == acta.content()
            outcome = ActaOutcome.DUPLICATE if same else ActaOutcome.CONFLICT
            rules = known.failed_rules
        results.append(ActaRecordResult(acta.acta_id, outcome, ActaStatus(head.status), tuple(rules)))
    return results


def _heads_of(entries: object, known: dict[Key, Acta]) -> dict[Key, Acta]:
    wanted = {(e.mesa_id, e.papeleta_id) for e in entries} - known.keys()  # type: ignore[attr-defined]
    if not wanted:
        return {}
    rows = Acta.objects.filter(_keys_q(wanted))
    return {(a.mesa_id, a.papeleta_id): a for a in rows}


def _keys_q(keys: set[Key]) -> Q:
    where = Q()
    for mesa, papeleta in sorted(keys):
        where |= Q(mesa_id=mesa, papeleta_id=papeleta)
    return where


def entry_new(acta: ValidatedActa, route: str, now: datetime, failed_rules: tuple[str, ...]) -> ActaEntry:
    return ActaEntry(
        acta_id=acta.acta_id,
        mesa_id=acta.mesa,
        papeleta_id=acta.papeleta,
        votes=dict(sorted(acta.votes.items())),
        **{name: getattr(acta, name) for name in COUNT_FIELDS},
        image_sha256=acta.image_sha256,
        entered_by=acta.entered_by,
        credential=acta.credential,
        corrects=acta.corrects,
        reason=acta.reason,
        route=route,
        failed_rules=list(failed_rules),
        received_at=acta.received_at,
        stored_at=now,
    )


def states_lock(first: dict[Key, ValidatedActa], now: datetime) -> dict[Key, KeyState]:
    """Each key's state, its head locked (created when new), in key order."""
    if not first:
        return {}
    keys = set(first)
    mesas = {
        m: p for m, p in Mesa.objects.filter(numero__in={m for m, _ in keys}).values_list("numero", "padron")
    }
    heads = {
        (a.mesa_id, a.papeleta_id): a
        for a in Acta.objects.select_for_update().filter(_keys_q(keys)).order_by("mesa", "papeleta")
    }
    missing = sorted(keys - heads.keys())
    created = [
        Acta(
            mesa_id=mesa,
            papeleta_id=papeleta,
            departamento_id=first[(mesa, papeleta)].departamento_code,
            municipio_id=first[(mesa, papeleta)].municipio_code,
            sede=first[(mesa, papeleta)].sede,  # checked against the mesa's by validation
            status=ActaStatus.PENDING,
            updated_at=now,
        )
        for mesa, papeleta in missing
    ]
    Acta.objects.bulk_create(created)  # a concurrent batch creating one too fails the unique key
    versions = {
        v.pk: v for v in ActaVersion.objects.filter(pk__in=[h.current_version_id for h in heads.values()])
    }
    entries: dict[int, list[ActaEntry]] = {pk: [] for pk in versions}
    for entry in ActaEntry.objects.filter(version_id__in=list(versions)).order_by("pk"):
        entries[entry.version_id].append(entry)
    counted_ids = [h.counted_entry_id for h in heads.values() if h.counted_entry_id]
    counted = {e.pk: e for e in ActaEntry.objects.filter(pk__in=counted_ids)}
    states = {}
    for key, head in heads.items():
        version = versions[head.current_version_id]  # type: ignore[index]
        states[key] = KeyState(
            head=head,
            version=version,
            entries=entries[version.pk],
            padron=mesas[key[0]],
            status_before=head.status,
            counted_before=counted.get(head.counted_entry_id),  # type: ignore[arg-type]
        )
    for head in created:
        version = ActaVersion(acta=head, number=1, status=ActaStatus.PENDING, opened_at=now)
        key = (head.mesa_id, head.papeleta_id)
        states[key] = KeyState(head, version, [], mesas[key[0]], None, None, [version])
    return states


def states_save(states: list[KeyState], new_entries: list[ActaEntry]) -> None:
    """Write what the states hold: new versions and entries, the changed versions and heads,
    and the tallies' move. A fixed number of statements whatever the batch's size."""
    if not states:
        return
    created = [v for s in states for v in s.new_versions]
    chosen = [v.chosen_entry for v in created]  # entries not stored yet: set once they are
    for version in created:
        version.chosen_entry = None
    ActaVersion.objects.bulk_create(created)
    ActaEntry.objects.bulk_create(new_entries)
    for version, entry in zip(created, chosen, strict=True):
        version.chosen_entry = entry
    versions = {id(s.version): s.version for s in states}
    versions |= {id(v): v for s in states for v in s.new_versions}
    rows_rewrite(
        ActaVersion,
        list(versions.values()),
        ["status", "failed_rules", "differing_fields", "decided_at", "decided_by", "reason", "chosen_entry"],
    )
    rows_rewrite(
        Acta,
        [s.head for s in states],
        ["status", "failed_rules", "differing_fields", "current_version", "counted_entry", "updated_at"],
    )
    tallies_move(states_difference(states))


def rows_rewrite(model: type[M], rows: list[M], fields: list[str]) -> None:
    """Write these stored rows' `fields` in one multi-row upsert of whole rows (MariaDB: INSERT
    ... ON DUPLICATE KEY UPDATE). bulk_update's CASE expressions were 80% of a 100-acta batch,
    built in Python (docs/performance.md#latest-actas-figures)."""
    target = ["id"] if connection.features.supports_update_conflicts_with_target else None
    model._default_manager.bulk_create(
        rows, update_conflicts=True, update_fields=fields, unique_fields=target
    )


def states_difference(states: list[KeyState]) -> Counts:
    counts = Counts.empty()
    for s in states:
        place = ActaPlace.of(s.head)
        counts.add(place, s.status_before, s.counted_before, s.padron, -1)
        counts.add(place, s.head.status, s.head.counted_entry, s.padron, 1)
    return counts
