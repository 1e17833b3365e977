"""Each part gets only the secrets and settings it uses, in every overlay and in compose.

A part that holds a secret it does not need is one more place to steal it from: the gateway,
facing the internet, holds no database URL, no Redis URL and no Django key; Locust, which
holds the all-sede token, holds nothing else.
"""

from __future__ import annotations

import pytest

from tests.deploy.manifests import (
    OVERLAYS,
    WORKLOADS,
    compose,
    containers,
    needs_kubectl,
    of_kind,
    pod_spec,
    rendered,
)

overlays = pytest.mark.parametrize("overlay", OVERLAYS)
SECRET = "escrutinio-secrets"
DJANGO = {"DJANGO_SECRET_KEY"}
STORES = {"DATABASE_URL", "REDIS_URL"}

# part -> the keys of the Secret it reads (each one through its own secretKeyRef).
SECRET_KEYS = {
    "api": DJANGO | STORES,
    "gateway": {"GRPC_GATEWAY_KEY"},
    "grpc": DJANGO | STORES | {"INGEST_TOKEN", "GRPC_GATEWAY_KEY"},
    "publisher": DJANGO | STORES | {"INGEST_TOKEN", "VOTE_QUEUE_KEY"},
    "worker": DJANGO | STORES | {"VOTE_QUEUE_KEY"},
    "migrate": DJANGO | {"DATABASE_URL"},
    # The snapshot writer reads the results and the latest-votes list; its file server
    # (compose; a CDN on GKE) holds nothing at all.
    "snapshots": DJANGO | STORES,
    "snapshots-web": set(),
    "locust": {"INGEST_TOKEN"},
    "mariadb": {"MARIADB_PASSWORD", "MARIADB_ROOT_PASSWORD"},
    "redis": {"REDIS_PASSWORD"},
}
# The API's statement time limit: its Procfile line sets DB_STATEMENT_TIMEOUT_MS (from
# API_STATEMENT_TIMEOUT_MS, 3000 by default). Set for every part (the shared ConfigMap), it
# would cut off the recording parts' transactions; set on the API's container, it would be
# overridden. So no deployment sets it (tests/deploy/test_parts_env.py: the API runs with it).
STATEMENT_LIMIT = "DB_STATEMENT_TIMEOUT_MS"
# compose marks secrets by name: these end every secret variable's name there.
COMPOSE_SECRET_SUFFIXES = ("_KEY", "_TOKEN", "_PASSWORD", "DATABASE_URL", "REDIS_URL")


@needs_kubectl
@overlays
def test_each_part_reads_only_the_secret_keys_it_uses(overlay: str) -> None:
    for workload in of_kind(rendered(overlay), *WORKLOADS):
        name, spec = workload["metadata"]["name"], pod_spec(workload)
        keys = set()
        for container in containers(spec):
            # The whole Secret would hand every key to every process of the part.
            assert not [s for s in container.get("envFrom", []) if "secretRef" in s], f"{overlay}: {name}"
            for variable in container.get("env", []):
                reference = variable.get("valueFrom", {}).get("secretKeyRef")
                if reference:
                    assert reference["name"] == SECRET, f"{overlay}: {name}: {variable['name']}"
                    keys.add(reference["key"])
        assert not [v for v in spec.get("volumes", []) if "secret" in v or "projected" in v], name
        assert keys == SECRET_KEYS[name], f"{overlay}: {name} reads {sorted(keys)}"


@needs_kubectl
@overlays
def test_no_deployment_sets_the_api_statement_limit_for_other_parts(overlay: str) -> None:
    resources = rendered(overlay)
    for config in of_kind(resources, "ConfigMap"):
        assert STATEMENT_LIMIT not in config.get("data", {}), config["metadata"]["name"]
    for workload in of_kind(resources, *WORKLOADS):
        for container in containers(pod_spec(workload)):
            assert STATEMENT_LIMIT not in {v["name"] for v in container.get("env", [])}, workload["metadata"][
                "name"
            ]


def test_compose_gives_each_part_the_same_secrets_as_kubernetes() -> None:
    """compose's parts run with ESCRUTINIO_DEV (a throwaway Django key), the rest as above."""
    for name, service in compose()["services"].items():
        if not service["image"].startswith("escrutinio:"):
            continue
        environment = set(service.get("environment", {}))
        secrets = {v for v in environment if v.endswith(COMPOSE_SECRET_SUFFIXES)}
        assert secrets == SECRET_KEYS[name] - DJANGO, f"compose {name}: {sorted(secrets)}"
        assert STATEMENT_LIMIT not in environment, f"compose {name}"
