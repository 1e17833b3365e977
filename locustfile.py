"""Locust: sedes reporting votes and digitadores typing actas, split between the two ingest routes.

Local run (`--ingest local`, the default): each vote, and each typing of an acta, goes to the
gRPC gateway with probability `--grpc-weight`% and to the Redis publisher otherwise.
Kubernetes (`--ingest ingress`): everything goes to `--host`, and the ingress canary splits.

Two kinds of user, three sedes to a digitador: `FieldSede` sends votes; `Digitador` types
each acta of the demo mesa catalogue (bench/simulation.py ActaGenerator, each mesa + papeleta
once per Locust process) twice, as two people with two credentials (`--digitador-tokens`,
two digitador tokens: `manage.py ingest_tokens issue --digitador NAME`; without them both
typings carry the ingest token, and the actas stay pending). A share of the second typings
mistypes one number (`--acta-typo-share`: the acta goes to review), and a share of the sheets
breaks a check rule (`--acta-rule-share`: inconsistent). `locust -f locustfile.py FieldSede`
runs votes only.

    locust -f locustfile.py                      # web UI on :8089
    locust -f locustfile.py --headless -u 50 -r 25 -t 30s --bad-share 0.05 --ledger var/ledger.jsonl

A 503, a connection error or a timeout is retried with the same vote_id or acta_id (the
system is idempotent on them); a bad vote must come back 400 and counts as a success. With
`--ledger` (`--acta-ledger`), every vote's (typed acta's) final answer is written there for
reconciliation.
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
from locust.exception import StopUser

from bench.simulation import ActaGenerator, ActaPair, VoteGenerator

ACCEPTED = {201: "stored", 202: "queued"}
RETRYABLE = {0, 429, 502, 503, 504}  # 0: no answer (connection refused, timeout)
MAX_ATTEMPTS = 8

ledger: list[dict[str, Any]] = []
acta_ledger: list[dict[str, Any]] = []
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
        "--acta-ledger",
        default=os.environ.get("LOCUST_ACTA_LEDGER", ""),
        help="write every typed acta's final answer here (JSON lines)",
    )
    parser.add_argument(
        "--acta-typo-share",
        type=float,
        default=float(os.environ.get("LOCUST_ACTA_TYPO_SHARE", "0.1")),
        include_in_web_ui=True,
        help="share of actas whose second typing differs by one number (then in review)",
    )
    parser.add_argument(
        "--acta-rule-share",
        type=float,
        default=float(os.environ.get("LOCUST_ACTA_RULE_SHARE", "0.1")),
        include_in_web_ui=True,
        help="share of actas whose sheet breaks a check rule (then inconsistent)",
    )
    parser.add_argument(
        "--actas-skip",
        default=os.environ.get("LOCUST_ACTAS_SKIP", ""),
        help="a file of 'mesa papeleta' lines: actas typed before, never handed out again",
    )
    parser.add_argument(
        "--digitador-tokens",
        default=os.environ.get("LOCUST_DIGITADOR_TOKENS", ""),
        help="two digitador tokens, comma-separated: one per typing of an acta",
        is_secret=True,
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
actas: ActaGenerator | None = None  # one for the process, so that no acta is handed out twice


@events.init.add_listener
def on_init(environment: Environment, **_: Any) -> None:
    global replay, actas
    options = environment.parsed_options
    if options and options.votes_file:
        replay = ReplayFile(options.votes_file)
    skip: frozenset[tuple[int, str]] = frozenset()
    if options and options.actas_skip:
        lines = Path(options.actas_skip).read_text(encoding="utf-8").split("\n")
        skip = frozenset((int(mesa), papeleta) for mesa, papeleta in (line.split() for line in lines if line))
    actas = ActaGenerator(skip=skip)


@events.test_stop.add_listener
def write_ledger(environment: Environment, **_: Any) -> None:
    if retries:
        print("retried with the same vote_id or acta_id:", dict(retries))
    options = environment.parsed_options
    for path, entries in (
        (options and options.ledger, ledger),
        (options and options.acta_ledger, acta_ledger),
    ):
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            with open(path, "w", encoding="utf-8") as out:
                for entry in entries:
                    out.write(json.dumps(entry, ensure_ascii=False) + "\n")


class FieldSede(FastHttpUser):
    """One sede's operator: sends a vote, waits a moment, sends the next."""

    weight = 3
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
        route, url = destination(self, "votes")
        self._send(vote, route, url, bad)

    def _next_vote(self, bad: bool) -> dict[str, Any] | None:
        if replay is not None:
            return replay.next()
        return self.generator.bad_vote() if bad else self.generator.vote()

    def _send(self, vote: dict[str, Any], route: str, url: str, bad: bool) -> None:
        status, attempts, text = post(self, url, vote, f"{route} POST /votes", self.options.ingest_token, bad)
        body = _json(text) if status in ACCEPTED else {}
        ledger.append(
            {
                "vote_id": vote.get("vote_id"),
                "route": body.get("route", route),
                "status": status,
                "bad": bad,
                "attempts": attempts,
                "vote": body.get("vote", vote),
            }
        )


class Digitador(FastHttpUser):
    """Types an acta twice, as two digitadores would (two names, two tokens), each typing by
    either route; then the next acta."""

    weight = 1
    host = FieldSede.host
    network_timeout = 10.0
    connection_timeout = 5.0

    def on_start(self) -> None:
        self.options = self.environment.parsed_options
        tokens = [t.strip() for t in self.options.digitador_tokens.split(",") if t.strip()]
        self.tokens = (tokens * 2)[:2] if tokens else [self.options.ingest_token] * 2
        self.names = (f"digitador {id(self)} A", f"digitador {id(self)} B")

    @task
    def type_acta(self) -> None:
        roll = random.random()  # noqa: S311
        typo, rule = self.options.acta_typo_share, self.options.acta_rule_share
        kind = "typo" if roll < typo else "rule" if roll < typo + rule else "clean"
        assert actas is not None
        pair = actas.pair(kind, entered_by=self.names)
        if pair is None:
            raise StopUser  # every acta of the catalogue has been typed
        for typing in (0, 1):
            self._type(pair, typing)

    def _type(self, pair: ActaPair, typing: int) -> None:
        acta = pair.entries[typing]
        route, url = destination(self, "actas")
        status, attempts, text = post(self, url, acta, f"{route} POST /actas", self.tokens[typing], False)
        answer = _json(text) if status in ACCEPTED else {}
        acta_ledger.append(
            {
                "acta_id": acta["acta_id"],
                "mesa": pair.mesa,
                "papeleta": pair.papeleta,
                "kind": pair.kind,
                "typing": typing,
                "route": answer.get("route", route),
                "status": status,
                "attempts": attempts,
                "answer": answer,
                "expected_failed_rules": list(pair.failed_rules[typing]),
                "acta": acta,
            }
        )


def destination(user: FieldSede | Digitador, resource: str) -> tuple[str, str]:
    """Where one vote or acta goes: the ingress, or a route drawn by --grpc-weight."""
    options = user.options
    if options.ingest == "ingress":
        return "ingress", f"{user.host}/{resource}"
    if random.random() * 100 < options.grpc_weight:  # noqa: S311
        return "grpc", f"{options.gateway_url}/{resource}"
    return "redis", f"{options.publisher_url}/{resource}"


def post(
    user: FastHttpUser, url: str, body: dict[str, Any], name: str, token: str, bad: bool
) -> tuple[int, int, str | None]:
    """POST `body`, retrying a retryable answer with the same id; (status, attempts, text).
    A bad body must be answered 400; a good one 201 or 202."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    status, text = 0, None
    for attempt in range(1, MAX_ATTEMPTS + 1):
        with user.client.post(url, json=body, headers=headers, name=name, catch_response=True) as response:
            status, text = response.status_code or 0, response.text
            if status in RETRYABLE and attempt < MAX_ATTEMPTS:
                response.success()  # not a failure yet: retried below with the same id
            elif bad:
                if status == 400:
                    response.success()  # refused as it must be
                else:
                    response.failure(f"bad body answered {status}")
            elif status in ACCEPTED:
                response.success()
            else:
                response.failure(f"answered {status}: {(text or '')[:200]}")
        if status not in RETRYABLE:
            break
        retries[f"{name.split()[0]} {status or 'no answer'}"] += 1
        gevent.sleep(min(2.0, 0.05 * 2**attempt))
    return status, attempt, text


def _json(text: str | None) -> dict[str, Any]:
    try:
        parsed = json.loads(text or "{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
