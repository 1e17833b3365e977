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
