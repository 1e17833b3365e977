"""Locust: sedes reporting votes as the field would, split between the two ingest routes.

Local run (`--ingest local`, the default): each vote goes to the gRPC gateway with
probability `--grpc-weight`% and to the Redis publisher otherwise. Kubernetes
(`--ingest ingress`): every vote goes to `--host`, and the ingress canary splits.

    locust -f locustfile.py                      # web UI on :8089
    locust -f locustfile.py --headless -u 50 -r 25 -t 30s --bad-share 0.05 --ledger var/ledger.jsonl

A 503, a connection error or a timeout is retried with the same vote_id (the system
is idempotent on it); a bad vote must come back 400 and counts as a success. With
`--ledger`, every vote's final answer is written there for reconciliation.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import gevent
from locust import FastHttpUser, events, task
from locust.env import Environment

from bench.simulation import VoteGenerator

ACCEPTED = {201: "stored", 202: "queued"}
RETRYABLE = {0, 429, 502, 503, 504}  # 0: no answer (connection refused, timeout)
MAX_ATTEMPTS = 8

ledger: list[dict[str, Any]] = []
retries: Counter[str] = Counter()


@events.init_command_line_parser.add_listener
def add_options(parser: Any) -> None:
    parser.add_argument(
        "--ingest",
        choices=["local", "ingress"],
        default=os.environ.get("LOCUST_INGEST", "local"),
        include_in_web_ui=True,
        help="local: split here by --grpc-weight; ingress: all to --host",
    )
    parser.add_argument(
        "--grpc-weight",
        type=int,
        default=int(os.environ.get("LOCUST_GRPC_WEIGHT", "50")),
        include_in_web_ui=True,
        help="percent of votes sent to the gRPC gateway (local mode)",
    )
    parser.add_argument(
        "--gateway-url",
        default=os.environ.get("GATEWAY_URL", "http://127.0.0.1:8001"),
        help="the gRPC route's HTTP gateway (local mode)",
    )
    parser.add_argument(
        "--publisher-url",
        default=os.environ.get("PUBLISHER_URL", "http://127.0.0.1:8002"),
        help="the Redis route's HTTP publisher (local mode)",
    )
    parser.add_argument(
        "--bad-share",
        type=float,
        default=float(os.environ.get("LOCUST_BAD_SHARE", "0")),
        include_in_web_ui=True,
        help="share of deliberately invalid votes (must be answered 400)",
    )
    parser.add_argument(
        "--votes-file",
        default=os.environ.get("LOCUST_VOTES_FILE", ""),
        help="replay a JSON array of votes in the original format instead of simulating",
    )
    parser.add_argument(
        "--ledger",
        default=os.environ.get("LOCUST_LEDGER", ""),
        help="write every vote's final answer here (JSON lines)",
    )
    parser.add_argument(
        "--ingest-token",
        default=os.environ.get("INGEST_TOKEN", ""),
        help="bearer token for the ingest entry points",
        is_secret=True,
    )


class ReplayFile:
    """The votes of --votes-file, handed out once each across all users, in order."""

    def __init__(self, path: str) -> None:
        self.votes: list[dict[str, Any]] = json.loads(Path(path).read_text(encoding="utf-8"))
        self.position = 0

    def next(self) -> dict[str, Any] | None:
        if self.position >= len(self.votes):
            return None
        vote = dict(self.votes[self.position])
        self.position += 1
        vote.setdefault("vote_id", str(uuid.uuid4()))  # fixed before the first attempt, for retries
        return vote


replay: ReplayFile | None = None


@events.init.add_listener
def on_init(environment: Environment, **_: Any) -> None:
    global replay
    options = environment.parsed_options
    if options and options.votes_file:
        replay = ReplayFile(options.votes_file)


@events.test_stop.add_listener
def write_ledger(environment: Environment, **_: Any) -> None:
    if retries:
        print("retried with the same vote_id:", dict(retries))
    options = environment.parsed_options
    if options and options.ledger:
        Path(options.ledger).parent.mkdir(parents=True, exist_ok=True)
        with open(options.ledger, "w", encoding="utf-8") as out:
            for entry in ledger:
                out.write(json.dumps(entry, ensure_ascii=False) + "\n")


class FieldSede(FastHttpUser):
    """One sede's operator: sends a vote, waits a moment, sends the next."""

    host = os.environ.get("LOCUST_HOST", "http://127.0.0.1:8001")
    network_timeout = 10.0
    connection_timeout = 5.0

    def on_start(self) -> None:
        self.generator = VoteGenerator()
        self.options = self.environment.parsed_options

    @task
    def report_vote(self) -> None:
        bad = random.random() < self.options.bad_share  # noqa: S311
        vote = self._next_vote(bad)
        if vote is None:
            self.environment.runner.quit()  # the replay file is exhausted
            return
        route, url = self._destination()
        self._send(vote, route, url, bad)

    def _next_vote(self, bad: bool) -> dict[str, Any] | None:
        if replay is not None:
            return replay.next()
        return self.generator.bad_vote() if bad else self.generator.vote()

    def _destination(self) -> tuple[str, str]:
        if self.options.ingest == "ingress":
            return "ingress", f"{self.host}/votes"
        if random.random() * 100 < self.options.grpc_weight:  # noqa: S311
            return "grpc", f"{self.options.gateway_url}/votes"
        return "redis", f"{self.options.publisher_url}/votes"

    def _send(self, vote: dict[str, Any], route: str, url: str, bad: bool) -> None:
        headers = (
            {"Authorization": f"Bearer {self.options.ingest_token}"} if self.options.ingest_token else {}
        )
        status = 0
        for attempt in range(1, MAX_ATTEMPTS + 1):
            with self.client.post(
                url, json=vote, headers=headers, name=f"{route} POST /votes", catch_response=True
            ) as response:
                status = response.status_code or 0
                if status in RETRYABLE and attempt < MAX_ATTEMPTS:
                    response.success()  # not a failure yet: retried below with the same vote_id
                elif bad:
                    if status == 400:
                        response.success()  # refused as it must be
                    else:
                        response.failure(f"bad vote answered {status}")
                elif status in ACCEPTED:
                    response.success()
                else:
                    response.failure(f"answered {status}: {(response.text or '')[:200]}")
            if status not in RETRYABLE:
                break
            retries[f"{route} {status or 'no answer'}"] += 1
            gevent.sleep(min(2.0, 0.05 * 2**attempt))
        body = _json(response.text) if status in ACCEPTED else {}
        ledger.append(
            {
                "vote_id": vote.get("vote_id"),
                "route": body.get("route", route),
                "status": status,
                "bad": bad,
                "attempts": attempt,
                "vote": body.get("vote", vote),
            }
        )


def _json(text: str | None) -> dict[str, Any]:
    try:
        parsed = json.loads(text or "{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
