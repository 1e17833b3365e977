"""What the access check adds to a vote's hot path, in one process.

    flock /tmp/escrutinio-bench.lock .venv/bin/python bench/access_overhead.py [--quick]

Times, per vote, over the same simulated votes (bench.simulation, thousands of sedes):
`vote_validate` alone (what admission cost before), and `election.admission.tokens.vote_admit` (token,
validation, the token's sede, the sede's token bucket) with the shared INGEST_TOKEN and with a
per-sede token (SHA-256 and a lookup in the cached tokens). Neither touches the database after
the first vote (catalogue and tokens are cached). Uses the database at
ACCESS_BENCH_DATABASE_URL (default mysql://root@127.0.0.1:3306/esc_bench_access), created and
migrated if needed. Writes bench/results/access_overhead.json (--quick: .quick.json).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.machine import load_average, machine  # noqa: E402

DEFAULT_DATABASE_URL = "mysql://root@127.0.0.1:3306/esc_bench_access"
SHARED_TOKEN = secrets.token_urlsafe(24)  # a throwaway of this run


def prepare_database(url: str) -> None:
    import MySQLdb

    parts = urlsplit(url)
    with MySQLdb.connect(host=parts.hostname, port=parts.port or 3306, user=parts.username or "root") as conn:
        conn.cursor().execute(
            f"CREATE DATABASE IF NOT EXISTS `{parts.path.lstrip('/')}` CHARACTER SET utf8mb4"
        )
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, check=True)


def per_vote_us(
    function: Callable[[dict[str, Any]], object], votes: list[dict[str, Any]], rounds: int
) -> float:
    """The median over `rounds` of the mean microseconds per vote."""
    means = []
    for _ in range(rounds):
        started = time.perf_counter()
        for vote in votes:
            function(vote)
        means.append((time.perf_counter() - started) / len(votes) * 1e6)
    return round(statistics.median(means), 2)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    count, rounds = (2_000, 3) if args.quick else (20_000, 5)
    os.environ.update(
        DATABASE_URL=os.environ.get("ACCESS_BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
        ESCRUTINIO_DEV="1",
        LOG_LEVEL="WARNING",
        INGEST_TOKEN=SHARED_TOKEN,
        INGEST_RATE_PER_SEDE="1000000",  # on, never binding: the bucket's cost is measured too
        INGEST_RATE_BURST="1000000",
        DJANGO_SETTINGS_MODULE="election.settings",
    )
    prepare_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from bench.simulation import VoteGenerator
    from election.admission.tokens import sede_key, token_issue, vote_admit
    from election.catalogue.index import catalogue_index
    from election.models import IngestToken
    from election.votes.validation import vote_validate

    generator = VoteGenerator()
    votes = [generator.vote() for _ in range(count)]
    catalogue_index()
    now = datetime.now(UTC)
    # One sede's token for the per-sede case: every vote is sent as that sede's, as a real
    # sede's client would, so the lookup and the binding check both run.
    first = votes[0]
    IngestToken.objects.all().delete()
    token, _ = token_issue(
        departamento=first["departamento"], municipio=first["municipio"], sede=first["sede"]
    )
    same_sede = [{**vote, **{k: first[k] for k in ("departamento", "municipio", "sede")}} for vote in votes]
    sede_key(departamento=first["departamento"], municipio=first["municipio"], sede=first["sede"])

    results = {
        "validate_only_us": per_vote_us(lambda v: vote_validate(v, received_at=now), votes, rounds),
        "admit_shared_token_us": per_vote_us(
            lambda v: vote_admit(v, token=SHARED_TOKEN, received_at=now), votes, rounds
        ),
        "validate_only_one_sede_us": per_vote_us(
            lambda v: vote_validate(v, received_at=now), same_sede, rounds
        ),
        "admit_sede_token_us": per_vote_us(
            lambda v: vote_admit(v, token=token, received_at=now), same_sede, rounds
        ),
    }
    results["overhead_shared_us"] = round(results["admit_shared_token_us"] - results["validate_only_us"], 2)
    results["overhead_sede_token_us"] = round(
        results["admit_sede_token_us"] - results["validate_only_one_sede_us"], 2
    )
    report = {
        "votes": count,
        "rounds": rounds,
        "machine": {**machine(), "load_average": load_average()},
        **results,
    }
    for name, value in results.items():
        print(f"{name:<28} {value:>8} us/vote")
    out = ROOT / "bench" / "results" / f"access_overhead{'.quick' if args.quick else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print("wrote", out.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
