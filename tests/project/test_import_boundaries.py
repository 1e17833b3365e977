"""The architecture's import rules, checked: a bad import fails here, not in production.

- The gateway and the HTTP edge runtime the two routes share need neither Django nor Celery:
  the gateway holds no database, no broker and no Django key (k8s/base/gateway.yaml), so
  importing them must not load either (checked in a fresh interpreter, as the gateway starts).
- The domain (election/) imports no route, and neither route imports the other: each route
  is a thin adapter over the domain, and the two are compared, so neither may lean on the other.
- Inside election/, each package imports only what sits below it (the layers of
  docs/architecture.md): catalogue < votes < actas < admission < ingest < writer, results < api.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT


def package_modules(*packages: str) -> tuple[str, ...]:
    """Every module of these packages, dotted (the package itself included)."""
    found = []
    for package in packages:
        folder = ROOT / package.replace(".", "/")
        for path in sorted(folder.rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return tuple(found)


# The gateway and the Django-free runtime: whole packages, so a new module there is checked too.
DJANGO_FREE = (
    "ingest_grpc.gateway",
    "ingest_grpc.contract",
    "ingest_grpc.acta_contract",
    "election.votes.types",
    "election.votes.fields",
    "election.actas.types",
    "election.actas.trep",
    "election.admission.credentials",
    "election.results.snapshot_static",  # the snapshot file server holds no secret either
    # The snapshot verifier checks the published files as an outsider would: no Django, no models.
    "election.results.snapshots.manifest",
    "election.results.snapshots.verify",
    *package_modules("election.ingest", "election.lib", "election.observability"),
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


def imported_modules(path: Path) -> set[str]:
    """The modules a file imports, dotted, at any depth of the file (functions included)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def offenders(package: str, forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    """The files of `package` that import a module of `forbidden` (packages, dotted)."""
    found = {}
    for path in python_files(package):
        bad = sorted(
            name for name in imported_modules(path) if any(f"{name}.".startswith(f"{f}.") for f in forbidden)
        )
        if bad:
            found[str(path.relative_to(ROOT))] = bad
    return found


def python_files(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package.replace(".", "/")).rglob("*.py") if "migrations" not in p.parts)


RUNTIME = ("election.ingest", "election.writer")
READS_AND_FACES = ("election.results", "election.api")


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        # The domain imports no route, and neither route imports the other.
        ("election", ROUTES),
        ("ingest_grpc", ("ingest_pubsub",)),
        ("ingest_pubsub", ("ingest_grpc",)),
        # The domain stands below the runtime, the reads and the API that use it.
        (
            "election.catalogue",
            (*RUNTIME, *READS_AND_FACES, "election.votes", "election.admission", "election.actas"),
        ),
        ("election.votes", (*RUNTIME, *READS_AND_FACES, "election.admission", "election.actas")),
        # Actas stand on the catalogue and the vote's vocabulary, below admission and the reads.
        ("election.actas", (*RUNTIME, *READS_AND_FACES, "election.admission")),
        ("election.admission", (*RUNTIME, *READS_AND_FACES)),
        ("election.results", (*RUNTIME[:1], "election.api")),
        # The shared runtime is route-free and below the API; its Django-free half (ingest)
        # sits below its database half (writer), which shares its Overloaded refusal.
        ("election.ingest", (*READS_AND_FACES, "election.writer")),
        ("election.writer", READS_AND_FACES),
    ],
)
def test_each_package_imports_only_what_sits_below_it(package: str, forbidden: tuple[str, ...]) -> None:
    assert offenders(package, forbidden) == {}
