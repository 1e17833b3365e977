"""The gRPC server under any bytes: a client's mistake is INVALID_ARGUMENT, never INTERNAL or UNKNOWN.

Requests are written byte by byte (protobuf's wire format), so they can be what no
generated client would send: truncated, with invalid UTF-8 in a string field, with a
timestamp outside what a datetime can hold, or plain noise.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import grpc
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from election.models import Vote
from ingest_grpc.protos.escrutinio.v1 import votes_pb2
from scripts.devservices import free_port
from tests.conftest import AUTHORIZATION, _empty_vote_tables, child_env, process_group
from tests.properties.conftest import counted, outcome_seen
from tests.properties.strategies import MUNICIPIOS, PAPELETAS, PARTIDOS

CAST_VOTE = "/escrutinio.v1.VoteService/CastVote"
CAST_VOTES = "/escrutinio.v1.VoteService/CastVotes"
CLIENT_MISTAKES = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.ALREADY_EXISTS}
METADATA = (("authorization", AUTHORIZATION),)


# --- protobuf's wire format, by hand -------------------------------------------


def varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # negative int64 values are ten-byte two's complement
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def length_delimited(tag: int, payload: bytes) -> bytes:
    return varint(tag << 3 | 2) + varint(len(payload)) + payload


def integer(tag: int, value: int) -> bytes:
    return varint(tag << 3) + varint(value)


VOTE_TAGS = {"vote_id": 1, "sede": 2, "municipio": 3, "departamento": 4, "papeleta": 5, "partido": 6}


@st.composite
def crafted_request(draw: st.DrawFn) -> bytes:
    """A CastVoteRequest whose strings may be any bytes and whose timestamp may be anything."""
    row = draw(st.sampled_from(MUNICIPIOS))
    text = {
        "sede": str(draw(st.integers(min_value=1, max_value=99))),
        "departamento": row["departamento"],
        "municipio": row["municipio"],
        "papeleta": draw(st.sampled_from(PAPELETAS)),
        "partido": draw(st.sampled_from(PARTIDOS)),
    }
    vote = b""
    for name, value in text.items():
        raw = value.encode()
        if draw(st.integers(min_value=0, max_value=3)) == 0:
            raw = draw(
                st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"a\x00b"]) | st.binary(max_size=12)
            )
        vote += length_delimited(VOTE_TAGS[name], raw)
    if draw(st.booleans()):
        vote += length_delimited(1, draw(st.binary(max_size=40) | st.uuids().map(lambda u: str(u).encode())))
    request = length_delimited(1, vote)
    if draw(st.booleans()):
        seconds = draw(st.integers(min_value=-(2**63), max_value=2**63 - 1) | st.integers(0, 2_000_000_000))
        nanos = draw(st.integers(min_value=-(2**31), max_value=2**31 - 1) | st.just(0))
        request += length_delimited(2, integer(1, seconds) + integer(2, nanos))
    if draw(st.integers(min_value=0, max_value=4)) == 0:
        request = request[: draw(st.integers(min_value=0, max_value=len(request)))]
    return request


requests = crafted_request() | st.binary(max_size=200)
FIELD_VOTE = length_delimited(
    1,
    b"".join(
        length_delimited(VOTE_TAGS[name], value)
        for name, value in [
            ("sede", b"7"),
            ("municipio", b"Flores"),
            ("departamento", b"Peten"),
            ("papeleta", b"Blanca"),
            ("partido", b"UNE"),
        ]
    ),
)


@pytest.fixture(scope="module")
def grpc_target(request, django_db_setup, django_db_blocker) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A real gRPC server on a free port, against the test database, for the module."""
    port = free_port()
    with django_db_blocker.unblock():
        _empty_vote_tables()
        env = child_env(GRPC_ADDRESS=f"127.0.0.1:{port}", GRPC_METRICS_PORT=str(free_port()))
        try:
            with process_group(request) as group:
                group.start("grpc-server", [sys.executable, "-m", "ingest_grpc.server"], env).wait_for_port(
                    port
                )
                yield f"127.0.0.1:{port}"
        finally:
            _empty_vote_tables()


@pytest.fixture(scope="module")
def channel(grpc_target: str) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(grpc_target) as opened:
        yield opened


def code_of(call: grpc.Call | grpc.RpcError) -> grpc.StatusCode:
    return call.code()  # type: ignore[no-any-return]


@given(raw=requests)
@example(raw=length_delimited(1, length_delimited(2, b"\xff\xfe")))  # invalid UTF-8 in a string field
@example(raw=length_delimited(2, integer(1, 2**62)))  # received_at past year 9999
@example(raw=length_delimited(2, integer(2, 2_000_000_000)))  # nanos out of range
@example(raw=b"\x0a\xff")  # a length running past the end
@example(raw=FIELD_VOTE + length_delimited(2, integer(1, -62135596800)))  # received_at 0001-01-01
@example(raw=FIELD_VOTE + length_delimited(2, integer(1, 253402300799)))  # received_at 9999-12-31
@counted
def test_cast_vote_answers_any_bytes_without_internal_or_unknown(channel: grpc.Channel, raw: bytes) -> None:
    cast = channel.unary_unary(CAST_VOTE, response_deserializer=votes_pb2.CastVoteResponse.FromString)
    before = Vote.objects.count()
    details = ""
    try:
        response, call = cast.with_call(raw, metadata=METADATA, timeout=30)
        code = code_of(call)
    except grpc.RpcError as error:
        code, response, details = code_of(error), None, error.details()  # type: ignore[attr-defined]
    outcome_seen(code.name)
    if code is grpc.StatusCode.OK:
        assert response is not None
        assert response.status in (votes_pb2.CAST_STATUS_STORED, votes_pb2.CAST_STATUS_DUPLICATE)
        return
    assert code in CLIENT_MISTAKES, (code, details, raw)
    if code is grpc.StatusCode.INVALID_ARGUMENT:
        assert Vote.objects.count() == before


@given(raws=st.lists(requests, min_size=1, max_size=5))
@counted
def test_cast_votes_lists_bad_messages_without_internal_or_unknown(
    channel: grpc.Channel, raws: list[bytes]
) -> None:
    cast = channel.stream_unary(CAST_VOTES, response_deserializer=votes_pb2.CastVotesResponse.FromString)
    try:
        response, call = cast.with_call(iter(raws), metadata=METADATA, timeout=30)
        code = code_of(call)
    except grpc.RpcError as error:
        code, response = code_of(error), None
    outcome_seen(code.name)
    assert code in CLIENT_MISTAKES | {grpc.StatusCode.OK}, (code, raws)
    if response is not None:
        assert response.received == len(raws)
        assert response.stored + response.duplicate + len(response.rejected) == len(raws)
