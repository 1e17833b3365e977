"""The deployment files as data: rendered kustomize overlays, the Compose file, the Dockerfiles."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
OVERLAYS = sorted(path.name for path in (K8S / "overlays").iterdir() if path.is_dir())
DOCKERFILES = [ROOT / "Dockerfile", ROOT / "Dockerfile.dashboard"]
COMPOSE = ROOT / "docker-compose.yml"
CLOUDRUN = K8S / "cloudrun" / "dashboard.yaml"
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job"}

needs_kubectl = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")


@cache
def rendered(overlay: str) -> tuple[dict[str, Any], ...]:
    """`kubectl kustomize k8s/overlays/<overlay>`, as a tuple of resources."""
    out = subprocess.run(
        ["kubectl", "kustomize", str(K8S / "overlays" / overlay)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    return tuple(doc for doc in yaml.safe_load_all(out) if doc)


def of_kind(resources: tuple[dict[str, Any], ...], *kinds: str) -> list[dict[str, Any]]:
    return [r for r in resources if r["kind"] in kinds]


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    return workload["spec"]["template"]["spec"]


def containers(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from spec.get("initContainers", [])
    yield from spec["containers"]


def is_ours(workload: dict[str, Any]) -> bool:
    """Our image's workloads (not the MariaDB and Redis of the local overlay)."""
    return workload["metadata"]["labels"].get("app.kubernetes.io/name") == "escrutinio"


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def dockerfile_images(path: Path) -> list[str]:
    stages: set[str] = set()
    images = []
    for match in re.finditer(
        r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", path.read_text(), re.MULTILINE | re.IGNORECASE
    ):
        image, stage = match.group(1), match.group(2)
        if image not in stages:
            images.append(image)
        if stage:
            stages.add(stage)
    return images


def dockerfile_env_names(path: Path) -> set[str]:
    names: set[str] = set()
    for block in re.findall(r"^ENV\s+((?:.*\\\n)*.*)", path.read_text(), re.MULTILINE):
        names.update(re.findall(r"([A-Z][A-Z0-9_]*)=", block))
    return names


def readme_config_names() -> set[str]:
    """The variables of the configuration table, docs/configuration.md (its first column)."""
    table = (ROOT / "docs" / "configuration.md").read_text()
    return set(re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", table, re.MULTILINE))


def is_pinned(image: str) -> bool:
    """A tag other than latest, or a digest."""
    if "@sha256:" in image:
        return True
    name_and_tag = image.rsplit("/", 1)[-1]
    return ":" in name_and_tag and not name_and_tag.endswith(":latest")
