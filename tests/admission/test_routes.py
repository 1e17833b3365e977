"""Access on the running system: both HTTP routes (gateway -> gRPC server, publisher -> Celery)
and the gRPC server called directly, as real processes started from their Procfile lines.

Missing or unknown token: 401 / UNAUTHENTICATED; a sede's token used for another sede: 403 /
PERMISSION_DENIED; a revoked token: 401 once the processes' token cache (1 s here) expires;
a flooding sede: 429 / RESOURCE_EXHAUSTED beyond its burst, and none of those votes stored.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import pytest

from election.models import Vote
from ingest_grpc.protos.escrutinio.v1 import votes_pb2, votes_pb2_grpc
from scripts.devservices import wait_until
from scripts.system import System
from tests.conftest import INGEST_TOKEN, ROOT, child_env, process_group
from tests.grpc.helpers import vote_message
from tests.support.field import new_sede, vote

BURST = 5  # and a refill of one vote per 1000 s: within a test, exactly BURST votes per sede
ACCESS_ENV = {
    "INGEST_TOKEN": INGEST_TOKEN,
    "INGEST_TOKEN_CACHE_SECONDS": "1",
    "INGEST_RATE_PER_SEDE": "0.001",
    "INGEST_RATE_BURST": str(BURST),
}


@pytest.fixture(scope="module")
def system(request, django_db_setup, django_db_blocker) -> Iterator[System]:  # type: ignore[no-untyped-def]
    """gRPC server, gateway, publisher and a Celery worker, shared by this module's tests."""
    with django_db_blocker.unblock():
        env = child_env(**ACCESS_ENV)
    with process_group(request) as group:
        yield System(group.start, env).start(parts=("grpc", "gateway", "publisher", "worker"))


@pytest.fixture
def live(system: System, committed_db, redis_client) -> System:  # type: ignore[no-untyped-def]
    return system


@pytest.fixture
def stub(system: System) -> Iterator[votes_pb2_grpc.VoteServiceStub]:
    with grpc.insecure_channel(f"127.0.0.1:{system.ports['grpc']}") as channel:
        yield votes_pb2_grpc.VoteServiceStub(channel)


def post(url: str, body: dict[str, Any], token: str | None) -> tuple[int, dict[str, Any], dict[str, str]]:
    headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
    request = urllib.request.Request(f"{url}/votes", data=json.dumps(body).encode(), headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=15) as answer:
            return answer.status, json.loads(answer.read()), dict(answer.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), dict(error.headers)


def cast(stub: votes_pb2_grpc.VoteServiceStub, body: dict[str, Any], token: str | None) -> grpc.StatusCode:
    request = votes_pb2.CastVoteRequest(vote=vote_message(body))
    metadata = (("authorization", f"Bearer {token}"),) if token else None
    try:
        stub.CastVote(request, timeout=15, metadata=metadata)
    except grpc.RpcError as error:
        return error.code()  # type: ignore[no-any-return]
    return grpc.StatusCode.OK


def issue(live: System, departamento: str, municipio: str, sede: int) -> tuple[int, str]:
    """`manage.py ingest_tokens issue`, as an operator runs it: (token id, token), once every
    running process knows the token."""
    output = manage("issue", "--departamento", departamento, "--municipio", municipio, "--sede", str(sede))
    token_id, token = int(output.split()[1]), output.strip().splitlines()[-1]
    # A running process learns of it from its next refresh: the periodic one, or the one its
    # first use asks for (that use refused 401). Known means 403 for another sede, which
    # stores nothing.
    for route in ROUTES:
        wait_until(
            lambda route=route: post(live.url(route), vote(sede + 1), token)[0] == 403,
            10,
            f"the new token known behind the {route}",
        )
    return token_id, token


def manage(*args: str) -> str:
    env = child_env()
    command = [sys.executable, "manage.py", "ingest_tokens", *args]
    return subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=True).stdout


def stored(vote_ids: list[str]) -> set[str]:
    return {str(v) for v in Vote.objects.filter(vote_id__in=vote_ids).values_list("vote_id", flat=True)}


def wait_stored(vote_ids: list[str]) -> None:
    wait_until(lambda: len(stored(vote_ids)) == len(vote_ids), 30, f"{len(vote_ids)} votes stored")


ROUTES = ("gateway", "publisher")
ACCEPTED = {"gateway": 201, "publisher": 202}


def test_without_a_known_token_nothing_is_accepted(
    live: System, stub: votes_pb2_grpc.VoteServiceStub
) -> None:
    refused: list[str] = []
    for route in ROUTES:
        for token in (None, "wrong-token", INGEST_TOKEN + "x"):
            body = vote(new_sede())
            status, answer, headers = post(live.url(route), body, token)
            assert status == 401, (route, token, answer)
            assert "authorization" in answer["errors"]
            assert headers.get("www-authenticate", headers.get("WWW-Authenticate", "")).startswith("Bearer")
            refused.append(body["vote_id"])
    for token in (None, "wrong-token"):
        body = vote(new_sede())
        assert cast(stub, body, token) is grpc.StatusCode.UNAUTHENTICATED
        refused.append(body["vote_id"])
    # A bad vote without a token is refused for the token, not examined.
    assert post(live.url("publisher"), {"sede": "?"}, None)[0] == 401
    # Then a good one on each route: once those are stored, none of the refused ones is.
    control = [vote(new_sede()) for _ in ROUTES]
    for route, body in zip(ROUTES, control, strict=True):
        assert post(live.url(route), body, INGEST_TOKEN)[0] == ACCEPTED[route]
    wait_stored([body["vote_id"] for body in control])
    assert stored(refused) == set()


def test_a_sede_token_may_report_its_own_sede_only(
    live: System, stub: votes_pb2_grpc.VoteServiceStub
) -> None:
    sede = new_sede()
    _, token = issue(live, "chimaltenango", "Patzún", sede)
    accepted, refused = [], []
    for route in ROUTES:
        own = vote(f"00{sede}", municipio="PATZUN")  # the same sede, however it is written
        status, answer, _ = post(live.url(route), own, token)
        assert status == ACCEPTED[route], answer
        accepted.append(own["vote_id"])
        for other in (vote(sede + 1), vote(sede, departamento="Guatemala", municipio="Mixco")):
            status, answer, _ = post(live.url(route), other, token)
            assert status == 403, answer
            assert f"sede {sede}" in answer["errors"]["authorization"][0]
            refused.append(other["vote_id"])
    own = vote(sede)
    assert cast(stub, own, token) is grpc.StatusCode.OK
    accepted.append(own["vote_id"])
    other = vote(sede + 1)
    assert cast(stub, other, token) is grpc.StatusCode.PERMISSION_DENIED
    refused.append(other["vote_id"])

    # A stream: the other sede's vote is listed as forbidden, the rest stored.
    stream = [vote(sede), vote(sede + 1), vote(sede)]
    requests = [votes_pb2.CastVoteRequest(vote=vote_message(b)) for b in stream]
    summary = stub.CastVotes(iter(requests), timeout=15, metadata=(("authorization", f"Bearer {token}"),))
    assert (summary.received, summary.stored) == (3, 2)
    assert [(r.index, r.reason) for r in summary.rejected] == [(1, votes_pb2.RejectedVote.REASON_FORBIDDEN)]
    accepted += [stream[0]["vote_id"], stream[2]["vote_id"]]
    refused.append(stream[1]["vote_id"])

    wait_stored(accepted)
    assert stored(refused) == set()


def test_one_batch_of_many_sedes_checks_each_vote_by_its_own_credential(
    live: System, stub: votes_pb2_grpc.VoteServiceStub
) -> None:
    """What the gateway sends: one CastVoteBatch, no call token, each vote with its sede's."""
    sede_a, sede_b = new_sede(), new_sede()
    _, token_a = issue(live, "Chimaltenango", "Patzún", sede_a)
    _, token_b = issue(live, "Chimaltenango", "Patzún", sede_b)
    sent = [
        (vote(sede_a), token_a),
        (vote(sede_b), token_b),
        (vote(sede_a), token_b),  # claims another sede than its credential's
        (vote(sede_b), "not-a-token"),
        (vote(sede_b), ""),
    ]
    requests = [
        votes_pb2.CastVoteRequest(vote=vote_message(body), credential=credential) for body, credential in sent
    ]
    answer = stub.CastVoteBatch(votes_pb2.CastVoteBatchRequest(requests=requests), timeout=15)

    Reason = votes_pb2.RejectedVote
    assert [r.status for r in answer.results[:2]] == [votes_pb2.CAST_STATUS_STORED] * 2
    assert [r.rejected.reason for r in answer.results[2:]] == [
        Reason.REASON_FORBIDDEN,
        Reason.REASON_UNAUTHENTICATED,
        Reason.REASON_UNAUTHENTICATED,
    ]
    assert answer.results[3].rejected.errors[0].field == "credential"
    assert stored([body["vote_id"] for body, _ in sent]) == {body["vote_id"] for body, _ in sent[:2]}

    # A call token that is unknown refuses the votes that rely on it, not one with its own.
    mixed = [vote(sede_a), vote(sede_b)]
    requests = [
        votes_pb2.CastVoteRequest(vote=vote_message(mixed[0])),
        votes_pb2.CastVoteRequest(vote=vote_message(mixed[1]), credential=token_b),
    ]
    answer = stub.CastVoteBatch(
        votes_pb2.CastVoteBatchRequest(requests=requests),
        timeout=15,
        metadata=(("authorization", "Bearer not-a-token"),),
    )
    first, second = answer.results
    assert (first.rejected.reason, first.rejected.errors[0].field) == (
        Reason.REASON_UNAUTHENTICATED,
        "authorization",
    )
    assert second.status == votes_pb2.CAST_STATUS_STORED
    assert stored([body["vote_id"] for body in mixed]) == {mixed[1]["vote_id"]}

    # Through the gateway, at once: each vote is answered for its own token.
    bodies = [(vote(sede_a), token_a), (vote(sede_b), token_b), (vote(sede_b), token_a), (vote(sede_a), "x")]
    with ThreadPoolExecutor(len(bodies)) as pool:
        statuses = list(pool.map(lambda sent: post(live.url("gateway"), *sent)[0], bodies))
    assert statuses == [201, 201, 403, 401]
    accepted = {bodies[0][0]["vote_id"], bodies[1][0]["vote_id"]}
    assert stored([body["vote_id"] for body, _ in bodies]) == accepted


def test_a_revoked_token_is_refused_everywhere_within_the_cache_time(
    live: System, stub: votes_pb2_grpc.VoteServiceStub
) -> None:
    sede = new_sede()
    token_id, token = issue(live, "Chimaltenango", "Patzun", sede)
    for route in ROUTES:
        assert post(live.url(route), vote(sede), token)[0] == ACCEPTED[route]
    assert cast(stub, vote(sede), token) is grpc.StatusCode.OK

    assert f"revoked token {token_id}" in manage("revoke", "--id", str(token_id))
    # Each process keeps its copy of the tokens for INGEST_TOKEN_CACHE_SECONDS (1 s here).
    for route in ROUTES:
        wait_until(lambda route=route: post(live.url(route), vote(sede), token)[0] == 401, 10, f"{route} 401")
    wait_until(
        lambda: cast(stub, vote(sede), token) is grpc.StatusCode.UNAUTHENTICATED, 10, "UNAUTHENTICATED"
    )
    assert f"{token_id}\t" not in manage("list")
    assert f"{token_id}\t" in manage("list", "--all")


@pytest.mark.parametrize("route", ROUTES)
def test_a_flooding_sede_gets_429_beyond_its_burst_and_those_votes_are_not_stored(
    live: System, route: str
) -> None:
    sede = new_sede()
    answers = []
    for _ in range(BURST + 7):
        body = vote(sede)
        status, _, headers = post(live.url(route), body, INGEST_TOKEN)
        answers.append((status, body["vote_id"], headers))
    accepted = [vote_id for status, vote_id, _ in answers if status == ACCEPTED[route]]
    throttled = [(vote_id, headers) for status, vote_id, headers in answers if status == 429]
    assert len(accepted) == BURST and len(throttled) == 7, [a[0] for a in answers]
    assert [status for status, _, _ in answers[:BURST]] == [ACCEPTED[route]] * BURST
    assert all(int(h.get("Retry-After", h.get("retry-after", "0"))) >= 1 for _, h in throttled)
    # Another sede is not held back by this one.
    neighbour = vote(sede + 1)
    assert post(live.url(route), neighbour, INGEST_TOKEN)[0] == ACCEPTED[route]
    wait_stored([*accepted, neighbour["vote_id"]])
    assert stored([vote_id for vote_id, _ in throttled]) == set()


def test_a_flooding_sede_gets_resource_exhausted_over_grpc(
    live: System, stub: votes_pb2_grpc.VoteServiceStub
) -> None:
    sede = new_sede()
    bodies = [vote(sede) for _ in range(BURST + 3)]
    codes = [cast(stub, body, INGEST_TOKEN) for body in bodies]
    assert codes == [grpc.StatusCode.OK] * BURST + [grpc.StatusCode.RESOURCE_EXHAUSTED] * 3
    assert stored([b["vote_id"] for b in bodies]) == {b["vote_id"] for b in bodies[:BURST]}
    # The client's retry of a throttled vote, same vote_id, is refused again while the sede is over.
    assert cast(stub, bodies[-1], INGEST_TOKEN) is grpc.StatusCode.RESOURCE_EXHAUSTED
