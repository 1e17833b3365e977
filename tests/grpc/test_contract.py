"""The checked-in generated code is exactly what proto/ generates."""

from pathlib import Path

from scripts.protos import PACKAGE_DIR, ROOT, generate


def test_generated_code_matches_the_proto_files(tmp_path: Path) -> None:
    fresh = {path.relative_to(tmp_path): path.read_text() for path in generate(tmp_path)}
    checked_in = {
        path.relative_to(ROOT): path.read_text()
        for path in (ROOT / PACKAGE_DIR).rglob("*_pb2*.py*")
        if path.suffix in (".py", ".pyi")  # not the bytecode any import leaves in __pycache__
    }

    assert fresh, "protoc generated nothing"
    assert fresh.keys() == checked_in.keys(), "run: make protos"
    for path, text in fresh.items():
        assert checked_in[path] == text, f"{path} is stale; run: make protos"


def test_a_votes_mesa_is_carried_as_a_number_and_only_when_given() -> None:
    from datetime import UTC, datetime

    from ingest_grpc import contract
    from ingest_grpc.gateway import cast_request
    from ingest_grpc.protos.escrutinio.v1 import votes_pb2

    fields = {
        "sede": "7",
        "municipio": "Patzun",
        "departamento": "04",
        "papeleta": "Blanca",
        "partido": "UNE",
    }
    now = datetime.now(UTC)
    with_mesa = cast_request({**fields, "mesa": "04242"}, now)
    assert isinstance(with_mesa, votes_pb2.CastVoteRequest)
    assert contract.vote_data(with_mesa.vote) == {**fields, "mesa": 4242}
    without = cast_request(fields, now)
    assert isinstance(without, votes_pb2.CastVoteRequest) and "mesa" not in contract.vote_data(without.vote)
    assert cast_request({**fields, "mesa": "doce"}, now) == {
        "mesa": ["Must be a mesa (JRV) number, such as 1513."]
    }
    assert cast_request({**fields, "mesa": 2**40}, now) == {
        "mesa": ["Must be a mesa (JRV) number from 1 to 2147483647."]
    }

    canonical = {"vote_id": "v", **fields}
    assert contract.canonical_vote(contract.vote_message(canonical)) == canonical
    assert contract.canonical_vote(contract.vote_message({**canonical, "mesa": 4242})) == {
        **canonical,
        "mesa": 4242,
    }
