"""Generate the Python code of the gRPC contract: `python -m scripts.protos` (`make protos`).

The generated modules are checked in under ingest_grpc/protos/ (importable as
`ingest_grpc.protos.escrutinio.v1`), so running the system needs no code generation; the
suite regenerates them and fails when they differ from proto/ (tests/grpc/test_contract.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto"
PACKAGE_DIR = "ingest_grpc/protos"  # where the contract's Python package lives
PROTOS = ["escrutinio/v1/votes.proto", "escrutinio/v1/actas.proto"]


def generate(out_dir: Path) -> list[Path]:
    """Write the generated modules under out_dir/ingest_grpc/protos/ and return their paths."""
    from grpc_tools import protoc

    args = [
        "protoc",
        f"--proto_path={PACKAGE_DIR}={PROTO_DIR}",
        f"--proto_path={Path(protoc.__file__).parent / '_proto'}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *(str(PROTO_DIR / proto) for proto in PROTOS),
    ]
    if protoc.main(args) != 0:
        raise RuntimeError(f"protoc failed: {' '.join(args)}")
    return sorted((out_dir / PACKAGE_DIR).rglob("*_pb2*.py*"))


if __name__ == "__main__":
    for path in generate(ROOT):
        print(path.relative_to(ROOT))
    sys.exit(0)
