"""The architecture's import rules, checked: a bad import fails here, not in production.

- The gateway and the HTTP edge runtime the two routes share need neither Django nor Celery:
  the gateway holds no database, no broker and no Django key (k8s/base/gateway.yaml), so
  importing them must not load either (checked in a fresh interpreter, as the gateway starts).
- The domain (election/) imports no route, and neither route imports the other: each route
  is a thin adapter over the domain, and the two are compared, so neither may lean on the other.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

DJANGO_FREE = (
    "ingest_grpc.gateway",
    "ingest_grpc.contract",
    "election.edge",
    "election.batching",
    "election.credentials",
    "election.vote_fields",
    "election.redis_clients",
    "election.threads",
    "election.heap",
    "election.logs",
    "election.metrics",
)
FRAMEWORKS = ("django", "celery", "kombu")
ROUTES = ("ingest_grpc", "ingest_pubsub")


@pytest.mark.parametrize("module", DJANGO_FREE)
def test_the_edge_runtime_loads_neither_django_nor_celery(module: str) -> None:
    probe = (
        f"import sys, {module}\n"
        f"print(sorted({{m for m in sys.modules if m.split('.')[0] in {FRAMEWORKS!r}}}))"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}  # no DJANGO_SETTINGS_MODULE
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", f"{module} loads {done.stdout.strip()}"


def imported_packages(path: Path) -> set[str]:
    """The top-level packages a file imports, at any depth of the file (functions included)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def python_files(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts)


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [("election", ROUTES), ("ingest_grpc", ("ingest_pubsub",)), ("ingest_pubsub", ("ingest_grpc",))],
)
def test_the_domain_imports_no_route_and_no_route_imports_the_other(
    package: str, forbidden: tuple[str, ...]
) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & set(forbidden))
        for path in python_files(package)
    }
    assert {path: names for path, names in offenders.items() if names} == {}
