"""Replay the 20 sample TREP actas through one route and print what it answered.

    python -m scripts.replay_actas --url http://127.0.0.1:8001/actas --token T     # the gateway
    python -m scripts.replay_actas --url http://127.0.0.1:8002/actas --token T     # the publisher

Each acta of election/actas/data/trep_2023_sample.json is sent as the POST /actas JSON
(election.actas.trep) with a fresh acta_id, typed by `--entered-by`; the table lists the acta,
its mesa, the route, the status (the gateway: the acta's status once stored; the publisher:
"queued") and the rules it fails. Exits 1 when any acta was not accepted. No Django: it is a
client, as a digitador's would be.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
import uuid
from typing import Any

from election.actas.trep import trep_acta_json, trep_sample_read

COLUMNS = ("acta", "mesa", "route", "status", "failed rules")


def acta_post(url: str, body: dict[str, Any], token: str, timeout: float = 15) -> tuple[int, dict[str, Any]]:
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an HTTP URL: {url}")
    request = urllib.request.Request(  # noqa: S310 -- checked above
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 -- checked above
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def replay(url: str, token: str, entered_by: str) -> list[dict[str, Any]]:
    """One row per sample acta, in mesa order: what the route answered."""
    rows = []
    for acta in trep_sample_read():
        body = trep_acta_json(acta, entered_by=entered_by, acta_id=str(uuid.uuid4()))
        status, answer = acta_post(url, body, token)
        accepted = status in (201, 202)
        rows.append(
            {
                "acta": body["acta_id"],
                "mesa": body["mesa"],
                "route": answer.get("route", "?") if accepted else "?",
                "status": answer["status"] if accepted else f"HTTP {status}",
                "failed rules": ", ".join(answer.get("failed_rules", [])) if accepted else _errors(answer),
                "http": status,
            }
        )
    return rows


def _errors(answer: dict[str, Any]) -> str:
    return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in answer.get("errors", {}).items())


def table(rows: list[dict[str, Any]]) -> str:
    cells = [[str(row[column]) for column in COLUMNS] for row in rows]
    widths = [max(len(column), *(len(line[i]) for line in cells)) for i, column in enumerate(COLUMNS)]
    lines = [" | ".join(column.ljust(widths[i]) for i, column in enumerate(COLUMNS))]
    lines.append("-+-".join("-" * width for width in widths))
    lines += [" | ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)) for line in cells]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.replay_actas", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--url", required=True, help="the route's POST /actas, e.g. http://127.0.0.1:8001/actas"
    )
    parser.add_argument("--token", required=True, help="a digitador's token (or the shared INGEST_TOKEN)")
    parser.add_argument("--entered-by", default="replay", help="who typed them (default: replay)")
    args = parser.parse_args(argv)
    rows = replay(args.url, args.token, args.entered_by)
    print(table(rows))
    return 0 if all(row["http"] in (201, 202) for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
