"""`make load`'s actas: the digitadores' credentials before the run, the reconciliation after.

Before: two digitador tokens (two typings of an acta must come from two credentials), each
waited for until both routes know it, and the actas typed before, which Locust then leaves out
(an acta's expected status is only known for one whose every typing is in the ledger).
After, from the acta ledger (locustfile.py `--acta-ledger`):
- every acknowledged typing is stored (ActaEntry by acta_id, unique) with the content it was
  sent with, by the route that answered, naming the failed rules the generator broke, which
  the answer named too; no typing that was not sent was stored meanwhile;
- each acta's status is what its acknowledged typings make it: two that agree, counted (no rule
  fails) or inconsistent; two that differ, in_review with the differing fields; one, pending
  (with ACTA_ENTRIES_REQUIRED=1 the first stored typing decides);
- the counted tallies (ActaTally, ActaProgress) moved by exactly the ledger's counted actas,
  and equal their recount from the stored entries (election.actas.tallies).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, cast

ACCEPTED = (201, 202)
Key = tuple[int, str]  # mesa, papeleta
Flat = dict[tuple[Any, ...], int]


def digitador_tokens_issue(urls: list[str], timeout: float = 30) -> tuple[list[str], list[int]]:
    """Two digitador tokens, once every route in `urls` (base URLs) accepts them."""
    from election.admission.tokens import token_issue_digitador

    issued = [token_issue_digitador(digitador=f"make load {name}", label="make load") for name in "AB"]
    tokens = [token for token, _ in issued]
    for url in urls:
        for token in tokens:
            token_known_wait(url, token, timeout)
    return tokens, [row.pk for _, row in issued]


def digitador_tokens_revoke(ids: list[int]) -> None:
    from election.admission.tokens import token_revoke

    for token_id in ids:
        token_revoke(token_id=token_id)


def token_known_wait(base: str, token: str, timeout: float) -> None:
    """Until a route answers an acta with a partido nobody knows 400 (the token known, the acta
    refused) rather than 401, five times running: a new token is read on its first miss."""
    body = json.dumps({"votes": {"PARTIDO INEXISTENTE": 1}}).encode()
    deadline, running = time.monotonic() + timeout, 0
    while running < 5:
        request = urllib.request.Request(  # noqa: S310 (our routes)
            f"{base}/actas",
            data=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
                status = answer.status
        except urllib.error.HTTPError as refused:
            status = refused.code
        running = running + 1 if status == 400 else 0
        if running == 0:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{base}/actas still answers {status} to a new digitador token")
            time.sleep(0.5)


def actas_typed_write(path: Path) -> int:
    """Write the actas (mesa + papeleta) typed before, for Locust's --actas-skip."""
    from election.models import Acta

    keys = list(Acta.objects.values_list("mesa_id", "papeleta_id"))
    path.write_text("".join(f"{mesa} {papeleta}\n" for mesa, papeleta in keys), encoding="utf-8")
    return len(keys)


def acta_ledger_read(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def tallies_snapshot() -> tuple[Flat, Flat]:
    """ActaTally and ActaProgress, flattened: (departamento, municipio, papeleta, what) -> n."""
    from election.actas.tallies import tallies_read

    return counts_flat(tallies_read())


def counts_flat(counts: Any) -> tuple[Flat, Flat]:
    rows = counts.nonzero()
    return dict(rows.votes), {
        (*key, column): n for key, row in rows.progress.items() for column, n in row.items() if n
    }


def wait_stored(acta_ids: list[str], timeout: float) -> int:
    from election.models import ActaEntry

    deadline = time.monotonic() + timeout
    while True:
        stored = sum(
            ActaEntry.objects.filter(acta_id__in=acta_ids[i : i + 1000]).count()
            for i in range(0, len(acta_ids), 1000)
        )
        if stored >= len(acta_ids) or time.monotonic() > deadline:
            return stored
        time.sleep(0.5)


@dataclass
class ActaReport:
    typings_sent: int = 0
    acknowledged: int = 0
    stored: int = 0
    lost: list[str] = field(default_factory=list)
    altered: list[str] = field(default_factory=list)  # content, route or failed rules
    answer_rules_wrong: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    status_wrong: list[str] = field(default_factory=list)
    tallies_differ_from_ledger: dict[tuple[Any, ...], tuple[int, int]] = field(default_factory=dict)
    tallies_match_recount: bool = False

    @property
    def whole(self) -> bool:
        return not (
            self.lost
            or self.altered
            or self.answer_rules_wrong
            or self.unexpected
            or self.status_wrong
            or self.tallies_differ_from_ledger
        ) and (self.tallies_match_recount and (self.acknowledged > 0 or self.typings_sent == 0))

    def rows(self) -> list[tuple[str, int]]:
        return [
            ("acta typings sent", self.typings_sent),
            ("acknowledged 201/202", self.acknowledged),
            ("stored (ActaEntry), of those", self.stored),
            ("lost (acknowledged, not stored)", len(self.lost)),
            ("altered (content, route or failed rules)", len(self.altered)),
            ("answers naming other failed rules", len(self.answer_rules_wrong)),
            ("unexpected (stored, never sent)", len(self.unexpected)),
            *((f"actas {status}", n) for status, n in sorted(self.statuses.items())),
            ("actas whose status differs from the ledger", len(self.status_wrong)),
            ("tallies that moved unlike the ledger", len(self.tallies_differ_from_ledger)),
            ("tallies equal to their recount (1: yes)", int(self.tallies_match_recount)),
        ]


def actas_reconcile(
    ledger: list[dict[str, Any]], *, before: tuple[Flat, Flat], since: datetime, required: int
) -> ActaReport:
    from election.actas.recording import entry_content
    from election.actas.tallies import ActaPlace, Counts, tallies_match_recount
    from election.actas.validation import acta_validate
    from election.models import Acta, ActaEntry, Mesa

    report = ActaReport(typings_sent=len(ledger))
    acknowledged = {e["acta_id"]: e for e in ledger if e["status"] in ACCEPTED}
    report.acknowledged = len(acknowledged)
    sent_ids = {e["acta_id"] for e in ledger}
    stored = {str(e.acta_id): e for e in ActaEntry.objects.filter(acta_id__in=list(sent_ids))}
    report.stored = len(stored.keys() & acknowledged.keys())
    typed = {acta_id: acta_validate(e["acta"]) for acta_id, e in acknowledged.items() if acta_id in stored}
    for acta_id, sent in acknowledged.items():
        if sorted(sent["answer"].get("failed_rules", [])) != sorted(sent["expected_failed_rules"]):
            report.answer_rules_wrong.append(acta_id)
        entry = stored.get(acta_id)
        if entry is None:
            report.lost.append(acta_id)
            continue
        if (
            entry_content(entry) != typed[acta_id].content()
            or entry.route != sent["route"]
            or list(entry.failed_rules) != sent["expected_failed_rules"]
        ):
            report.altered.append(acta_id)
    arrived = ActaEntry.objects.filter(received_at__gte=since).values_list("acta_id", flat=True)
    report.unexpected = sorted(str(a) for a in arrived if str(a) not in sent_ids)

    # An acta's status follows its stored typings (a typing whose answer was lost may be stored).
    by_key: defaultdict[Key, list[dict[str, Any]]] = defaultdict(list)
    for typing in ledger:
        if typing["acta_id"] in stored:
            by_key[(typing["mesa"], typing["papeleta"])].append(typing)
    typed |= {
        e["acta_id"]: acta_validate(e["acta"])
        for t in by_key.values()
        for e in t
        if e["acta_id"] not in typed
    }
    heads = {(a.mesa_id, a.papeleta_id): a for a in Acta.objects.filter(mesa__in={k[0] for k in by_key})}
    padron = dict(Mesa.objects.filter(numero__in={k[0] for k in by_key}).values_list("numero", "padron"))
    expected_move = Counts.empty()
    for key, typings in by_key.items():
        first = _first_stored(typings, stored)
        status, counted = expected_status(typings, first, required)
        head = heads.get(key)
        report.statuses[head.status if head else "missing"] += 1
        if head is None or head.status != status or (status == "in_review") != bool(head.differing_fields):
            report.status_wrong.append(f"{key}: {head.status if head else 'missing'}, expected {status}")
        acta = typed.get(first["acta_id"]) if first else None
        if acta is not None:
            numbers = cast(Any, acta) if counted else None  # ValidatedActa has the numbers add() reads
            place = ActaPlace(acta.departamento_code, acta.municipio_code, acta.sede, acta.papeleta)
            expected_move.add(place, status, numbers, padron[key[0]], 1)
    after = tallies_snapshot()
    expected = counts_flat(expected_move)
    for moved_now, moved_before, wanted in zip(after, before, expected, strict=True):
        for what in moved_now.keys() | moved_before.keys() | wanted.keys():
            moved = moved_now.get(what, 0) - moved_before.get(what, 0)
            if moved != wanted.get(what, 0):
                report.tallies_differ_from_ledger[what] = (moved, wanted.get(what, 0))
    report.tallies_match_recount = tallies_match_recount()
    return report


def _first_stored(typings: list[dict[str, Any]], stored: dict[str, Any]) -> dict[str, Any] | None:
    present = [t for t in typings if t["acta_id"] in stored]
    return min(present, key=lambda t: stored[t["acta_id"]].pk) if present else None


def expected_status(
    typings: list[dict[str, Any]], first: dict[str, Any] | None, required: int
) -> tuple[str, bool]:
    """(status, whether its numbers count) of an acta whose acknowledged typings are `typings`
    (the generator's: two typings differ exactly when its kind is "typo")."""
    if first is None:
        return "missing", False
    if required == 1:
        rules = first["expected_failed_rules"]
        return ("inconsistent", False) if rules else ("counted", True)
    if len(typings) < 2:
        return "pending", False
    if typings[0]["kind"] == "typo":
        return "in_review", False
    return ("inconsistent", False) if first["expected_failed_rules"] else ("counted", True)
