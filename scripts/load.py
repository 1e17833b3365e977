"""`make load`: a headless Locust run against the running system, then a reconciliation.

    python -m scripts.load --users 40 --run-time 30s --bad-share 0.05

It snapshots the results API, runs Locust (locustfile.py: field sedes and digitadores) with a
ledger of every vote's and every typed acta's final answer, waits until every acknowledged vote
and acta is stored, and then checks:
- every vote answered 201/202 is in the database exactly once, with the content it was
  acknowledged with; no vote that was not sent appeared meanwhile; no bad vote was stored;
- the latest-votes list holds no vote twice;
- the API's counts moved by exactly what the acknowledged votes add up to (total, per route,
  per papeleta, per departamento and partido);
- the actas (scripts/load_actas.py): every acknowledged typing stored once with its content,
  each acta's status as its typings make it, the counted tallies moved by the ledger's
  counted actas and equal to their recount;
- Locust saw no unexpected failure.
The digitadores type with two digitador tokens issued for the run (revoked after it).
It prints the reconciliation and exits 1 on any difference. Run it against a system that
nothing else writes to meanwhile (the API comparison assumes so).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ACCEPTED = (201, 202)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m scripts.load", description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=40)
    parser.add_argument("--spawn-rate", type=float, default=20)
    parser.add_argument("--run-time", default="30s")
    parser.add_argument("--bad-share", type=float, default=0.05)
    parser.add_argument("--grpc-weight", type=int, default=50)
    parser.add_argument("--acta-typo-share", type=float, default=0.1)
    parser.add_argument("--acta-rule-share", type=float, default=0.1)
    parser.add_argument("--api-url", default=os.environ.get("API_URL") or "http://127.0.0.1:8000")
    parser.add_argument("--gateway-url", default=os.environ.get("GATEWAY_URL", "http://127.0.0.1:8001"))
    parser.add_argument("--publisher-url", default=os.environ.get("PUBLISHER_URL", "http://127.0.0.1:8002"))
    parser.add_argument("--drain-timeout", type=float, default=120, help="seconds to wait for queued votes")
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "load", help="ledger and Locust CSVs")
    return parser.parse_args(argv)


def api_get(base: str, path: str, **params: str) -> Any:
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    with urllib.request.urlopen(f"{base}{path}{query}", timeout=30) as answer:  # noqa: S310 (our API)
        return json.loads(answer.read())


def api_counts(base: str) -> Counter[str]:
    """The API's counts, flattened to 'what -> votes', so two snapshots can be subtracted."""
    counts: Counter[str] = Counter()
    summary = api_get(base, "/api/results/summary")
    counts["total"] = summary["total"]
    for route, figures in summary["by_route"].items():
        counts[f"route {route}"] = figures["votes"]
    for papeleta, votes in summary["by_papeleta"].items():
        counts[f"papeleta {papeleta}"] = votes
    catalogue = api_get(base, "/api/catalogue/")
    # Null and blank ballots are not partidos in the answer: they are counted in its `ballots`.
    not_partidos = {p["kind"]: p["sigla"] for p in catalogue["partidos"] if p["kind"] != "valid"}
    for departamento in catalogue["departamentos"]:
        shares = api_get(base, "/api/results/partidos", departamento=departamento["nombre"])
        for row in shares["results"]:
            counts[f"{departamento['nombre']} {row['partido']}"] = row["votes"]
        for kind, sigla in not_partidos.items():
            counts[f"{departamento['nombre']} {sigla}"] = shares["ballots"][f"{kind}s"]
    return counts


def expected_counts(acknowledged: dict[str, dict[str, Any]]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for entry in acknowledged.values():
        vote = entry["vote"]
        counts["total"] += 1
        counts[f"route {entry['route']}"] += 1
        counts[f"papeleta {vote['papeleta']}"] += 1
        counts[f"{vote['departamento']} {vote['partido']}"] += 1
    return counts


def run_locust(args: argparse.Namespace, ledger: Path, digitador_tokens: list[str]) -> int:
    command = [
        sys.executable, "-m", "locust", "-f", str(ROOT / "locustfile.py"), "--headless",
        "--users", str(args.users), "--spawn-rate", str(args.spawn_rate), "--run-time", args.run_time,
        "--ingest", "local", "--grpc-weight", str(args.grpc_weight), "--bad-share", str(args.bad_share),
        "--gateway-url", args.gateway_url, "--publisher-url", args.publisher_url,
        "--ledger", str(ledger), "--csv", str(args.out / "locust"), "--only-summary", "--stop-timeout", "10",
        "--acta-ledger", str(args.out / "acta-ledger.jsonl"), "--actas-skip", str(args.out / "actas-typed"),
        "--acta-typo-share", str(args.acta_typo_share), "--acta-rule-share", str(args.acta_rule_share),
    ]  # fmt: skip
    print("$", " ".join(command), flush=True)
    # Locust reads the tokens from its environment (never on the command line).
    env = {
        **os.environ,
        "INGEST_TOKEN": ingest_token(),
        "LOCUST_DIGITADOR_TOKENS": ",".join(digitador_tokens),
    }
    return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode


def ingest_token() -> str:
    """INGEST_TOKEN, or the demo token `make run` wrote to var/ingest-token."""
    token = os.environ.get("INGEST_TOKEN", "").strip()
    saved = ROOT / "var" / "ingest-token"
    if not token and saved.exists():
        token = saved.read_text().strip()
    return token


def read_ledger(ledger: Path) -> tuple[dict[str, dict[str, Any]], set[str], list[dict[str, Any]]]:
    """(acknowledged vote_id -> entry, every vote_id sent, bad votes)."""
    entries = [json.loads(line) for line in ledger.read_text(encoding="utf-8").splitlines() if line]
    acknowledged = {e["vote_id"]: e for e in entries if not e["bad"] and e["status"] in ACCEPTED}
    return acknowledged, {e["vote_id"] for e in entries}, [e for e in entries if e["bad"]]


def wait_stored(vote_ids: list[str], timeout: float) -> int:
    from election.models import Vote

    deadline = time.monotonic() + timeout
    while True:
        stored = sum(
            Vote.objects.filter(vote_id__in=vote_ids[i : i + 1000]).count()
            for i in range(0, len(vote_ids), 1000)
        )
        if stored >= len(vote_ids) or time.monotonic() > deadline:
            return stored
        time.sleep(0.5)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "election.settings")
    import django

    django.setup()
    from django.conf import settings

    from election.models import Vote
    from election.results.reconciliation import ledger_reconcile
    from scripts import load_actas

    args.out.mkdir(parents=True, exist_ok=True)
    ledger = args.out / "ledger.jsonl"
    load_actas.actas_typed_write(args.out / "actas-typed")
    tokens, token_ids = load_actas.digitador_tokens_issue([args.gateway_url, args.publisher_url])
    before = api_counts(args.api_url)
    tallies_before = load_actas.tallies_snapshot()
    since = datetime.now(UTC) - timedelta(seconds=1)
    try:
        locust_code = run_locust(args, ledger, tokens)
    finally:
        load_actas.digitador_tokens_revoke(token_ids)
    acknowledged, sent, bad = read_ledger(ledger)
    stored = wait_stored(list(acknowledged), args.drain_timeout)
    acta_ledger = load_actas.acta_ledger_read(args.out / "acta-ledger.jsonl")
    load_actas.wait_stored([e["acta_id"] for e in acta_ledger if e["status"] in ACCEPTED], args.drain_timeout)
    actas = load_actas.actas_reconcile(
        acta_ledger, before=tallies_before, since=since, required=settings.ACTA_ENTRIES_REQUIRED
    )
    report = ledger_reconcile(
        acknowledged={vote_id: entry["vote"] for vote_id, entry in acknowledged.items()},
        sent=sent,
        since=since,
    )
    bad_stored = Vote.objects.filter(vote_id__in=[b["vote_id"] for b in bad]).count()
    bad_not_400 = [b for b in bad if b["status"] != 400]
    moved = api_counts(args.api_url)
    moved.subtract(before)
    api_differences = {
        key: (moved[key], expected)
        for key, expected in expected_counts(acknowledged).items()
        if moved[key] != expected
    } | {
        key: (value, 0) for key, value in moved.items() if value and key not in expected_counts(acknowledged)
    }

    rows = [
        ("votes sent (good + bad)", len(sent)),
        ("acknowledged 201/202", report.acknowledged),
        ("stored, of those", stored),
        ("lost (acknowledged, not stored)", len(report.lost)),
        ("duplicated", len(report.duplicated)),
        ("altered (stored with other content)", len(report.altered)),
        ("unexpected (stored, never sent)", len(report.unexpected)),
        ("listed twice in the latest votes", len(report.latest_duplicated)),
        ("bad votes sent", len(bad)),
        ("bad votes not answered 400", len(bad_not_400)),
        ("bad votes stored", bad_stored),
        ("API counts that differ from the ledger", len(api_differences)),
        *actas.rows(),
        ("Locust exit code (1: unexpected failures)", locust_code),
    ]
    print("\nreconciliation")
    for label, value in rows:
        print(f"  {label:<45} {value:>8}")
    for key, (seen, expected) in list(api_differences.items())[:10]:
        print(f"  API {key}: moved by {seen}, ledger says {expected}")
    for what in actas.status_wrong[:10]:
        print(f"  acta {what}")
    for tally, (moved_by, says) in list(actas.tallies_differ_from_ledger.items())[:10]:
        print(f"  acta tally {tally}: moved by {moved_by}, ledger says {says}")
    whole = (
        report.whole and not bad_not_400 and bad_stored == 0 and not api_differences
        and locust_code == 0 and report.acknowledged > 0 and actas.whole
    )  # fmt: skip
    print(
        "\nRESULT:",
        "whole: every acknowledged vote and acta stored exactly once" if whole else "DIFFERENCES FOUND",
    )
    return 0 if whole else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
