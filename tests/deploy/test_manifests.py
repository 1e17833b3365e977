"""What matters in the rendered manifests, for every kustomize overlay (k8s/overlays/*).

scripts/check_deploy.sh validates their schema and scans them with checkov; these tests
check the properties this project relies on, whatever the scanners' rules say.
"""

from __future__ import annotations

from typing import Any

import pytest

from scripts.part import part_commands
from tests.deploy.manifests import (
    CLOUDRUN,
    DOCKERFILES,
    OVERLAYS,
    WORKLOADS,
    compose,
    containers,
    dockerfile_env_names,
    dockerfile_images,
    is_ours,
    is_pinned,
    needs_kubectl,
    of_kind,
    pod_spec,
    readme_config_names,
    rendered,
)

pytestmark = needs_kubectl
overlays = pytest.mark.parametrize("overlay", OVERLAYS)
SECRET_LIKE = ("SECRET", "_KEY", "_AUTH", "PASSWORD", "TOKEN", "DATABASE_URL", "REDIS_URL", "BROKER_URL")


def test_there_are_overlays_for_gke_and_a_laptop() -> None:
    assert {"gke", "local"} <= set(OVERLAYS)


@overlays
def test_every_long_running_container_has_probes_and_resources(overlay: str) -> None:
    workloads = of_kind(rendered(overlay), "Deployment", "StatefulSet")
    assert workloads
    for workload in workloads:
        for container in pod_spec(workload)["containers"]:
            where = f"{overlay}: {workload['kind']}/{workload['metadata']['name']}/{container['name']}"
            assert "readinessProbe" in container, where
            assert "livenessProbe" in container, where
            assert_resources(container, where)


@overlays
def test_every_container_is_non_root_read_only_without_capabilities(overlay: str) -> None:
    for workload in of_kind(rendered(overlay), *WORKLOADS):
        spec = pod_spec(workload)
        pod_security = spec.get("securityContext", {})
        assert pod_security.get("runAsNonRoot") is True, workload["metadata"]["name"]
        assert pod_security.get("runAsUser", 0) > 0, workload["metadata"]["name"]
        assert pod_security.get("seccompProfile", {}).get("type") == "RuntimeDefault"
        assert spec.get("automountServiceAccountToken") is False, workload["metadata"]["name"]
        for container in containers(spec):
            where = f"{overlay}: {workload['metadata']['name']}/{container['name']}"
            security = container.get("securityContext", {})
            assert security.get("readOnlyRootFilesystem") is True, where
            assert security.get("allowPrivilegeEscalation") is False, where
            assert security.get("capabilities", {}).get("drop") == ["ALL"], where
            assert_resources(container, where)


@overlays
def test_the_grpc_server_is_probed_with_native_grpc_probes(overlay: str) -> None:
    (grpc,) = [d for d in of_kind(rendered(overlay), "Deployment") if d["metadata"]["name"] == "grpc"]
    container = pod_spec(grpc)["containers"][0]
    port = next(p["containerPort"] for p in container["ports"] if p["name"] == "grpc")
    assert container["readinessProbe"]["grpc"]["port"] == port
    assert container["livenessProbe"]["grpc"]["port"] == port


@overlays
def test_votes_are_split_between_the_routes_by_weights_adding_to_100(overlay: str) -> None:
    ingresses = of_kind(rendered(overlay), "Ingress")
    canaries = [i for i in ingresses if annotation(i, "canary") == "true"]
    (primary,) = [i for i in ingresses if i not in canaries]
    (canary,) = canaries
    total = int(annotation(canary, "canary-weight-total") or 100)
    publisher_share = int(annotation(canary, "canary-weight") or "")
    gateway_share = total - publisher_share
    assert total == 100
    assert 0 <= publisher_share <= 100
    assert gateway_share + publisher_share == 100
    # ingress-nginx only splits a host and path that the primary ingress also serves.
    primary_votes = backends_of(primary, "/votes")
    canary_votes = backends_of(canary, "/votes")
    assert set(primary_votes) == set(canary_votes) and primary_votes
    assert set(primary_votes.values()) == {"gateway"}
    assert set(canary_votes.values()) == {"publisher"}
    assert set(backends_of(primary, "/").values()) == {"api"}


@overlays
def test_no_secret_value_is_in_the_manifests(overlay: str) -> None:
    resources = rendered(overlay)
    for secret in of_kind(resources, "Secret"):
        assert not secret.get("data") and not secret.get("stringData"), secret["metadata"]["name"]
    for config in of_kind(resources, "ConfigMap"):
        for key in config.get("data", {}):
            assert not key.upper().endswith(SECRET_LIKE), f"{key} belongs in the Secret"
    for workload in of_kind(resources, *WORKLOADS):
        for container in containers(pod_spec(workload)):
            for variable in container.get("env", []):
                if variable["name"].upper().endswith(SECRET_LIKE):
                    assert "value" not in variable, f"{variable['name']} must come from a Secret"
                    assert "secretKeyRef" in variable["valueFrom"], variable["name"]


@overlays
def test_every_image_is_pinned_by_tag_or_digest(overlay: str) -> None:
    for workload in of_kind(rendered(overlay), *WORKLOADS):
        for container in containers(pod_spec(workload)):
            assert is_pinned(container["image"]), container["image"]


def test_compose_cloud_run_and_dockerfile_images_are_pinned() -> None:
    import yaml

    images = [service["image"] for service in compose()["services"].values()]
    images += [
        c["image"] for c in yaml.safe_load(CLOUDRUN.read_text())["spec"]["template"]["spec"]["containers"]
    ]
    for dockerfile in DOCKERFILES:
        images += dockerfile_images(dockerfile)
    assert len(images) > 5
    for image in images:
        assert is_pinned(image), image


@overlays
def test_every_part_runs_a_command_of_the_local_run(overlay: str) -> None:
    """The image starts a part by its Procfile name (scripts/part.py): the same commands as `make run`."""
    known = part_commands()
    for workload in of_kind(rendered(overlay), *WORKLOADS):
        if is_ours(workload):
            for container in pod_spec(workload)["containers"]:
                assert container["args"][0] in known, f"{container['args']} is not in Procfile"


def test_compose_runs_commands_of_the_local_run_and_keeps_redis_on_aof() -> None:
    known = part_commands()
    services = compose()["services"]
    for name, service in services.items():
        if service["image"].startswith("escrutinio:"):
            assert service["command"][0] in known, f"{name}: {service['command']} is not in Procfile"
    assert "--appendonly" in services["redis"]["command"]
    assert services["redis"]["command"][services["redis"]["command"].index("--appendonly") + 1] == "yes"


def test_compose_publishes_only_the_dashboard_the_ingest_entry_points_the_snapshots_and_locust() -> None:
    published = {name for name, service in compose()["services"].items() if service.get("ports")}
    assert published == {"api", "gateway", "publisher", "snapshots-web", "locust"}


def test_compose_starts_each_part_after_what_it_needs_is_healthy() -> None:
    services = compose()["services"]
    for name, service in services.items():
        for dependency, condition in service.get("depends_on", {}).items():
            expected = "service_completed_successfully" if dependency == "migrate" else "service_healthy"
            assert condition["condition"] == expected, f"{name} -> {dependency}"
            if expected == "service_healthy":
                assert "healthcheck" in services[dependency], dependency


@overlays
def test_redis_in_the_cluster_keeps_an_append_only_file(overlay: str) -> None:
    for redis in [w for w in of_kind(rendered(overlay), "StatefulSet") if w["metadata"]["name"] == "redis"]:
        args = pod_spec(redis)["containers"][0]["args"]
        assert args[args.index("--appendonly") + 1] == "yes"


def test_every_variable_the_deployments_set_is_in_the_readme_table() -> None:
    documented = readme_config_names()
    used = deployment_env_names()
    assert used - documented == set(), "add these to the configuration table, docs/configuration.md"


def test_the_essential_variables_are_set_by_every_deployment() -> None:
    essential = {"DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS", "GRPC_ADDRESS", "LOG_FORMAT"}
    assert essential <= readme_config_names()
    for overlay in OVERLAYS:
        assert essential | {"DJANGO_SECRET_KEY"} <= k8s_env_names(overlay), overlay
    assert essential <= compose_env_names()
    assert "API_URL" in cloudrun_env_names()


# --- helpers ----------------------------------------------------------------------------


def assert_resources(container: dict[str, Any], where: str) -> None:
    resources = container.get("resources", {})
    for bound in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(resources.get(bound, {})), f"{where}: {bound}"


def annotation(resource: dict[str, Any], name: str) -> str | None:
    return resource["metadata"].get("annotations", {}).get(f"nginx.ingress.kubernetes.io/{name}")


def backends_of(ingress: dict[str, Any], path: str) -> dict[str, str]:
    """{host: service} for the rules of `ingress` on `path`."""
    return {
        rule.get("host", ""): p["backend"]["service"]["name"]
        for rule in ingress["spec"]["rules"]
        for p in rule["http"]["paths"]
        if p["path"] == path
    }


def k8s_env_names(overlay: str) -> set[str]:
    resources = rendered(overlay)
    configs = {c["metadata"]["name"]: c.get("data", {}) for c in of_kind(resources, "ConfigMap")}
    names: set[str] = set()
    for workload in of_kind(resources, *WORKLOADS):
        if not is_ours(workload):
            continue
        for container in containers(pod_spec(workload)):
            names.update(v["name"] for v in container.get("env", []))
            for source in container.get("envFrom", []):
                names.update(configs[source["configMapRef"]["name"]])
    return names


def compose_env_names() -> set[str]:
    names: set[str] = set()
    for service in compose()["services"].values():
        if service["image"].startswith("escrutinio:"):
            names.update(service.get("environment", {}))
    return names


def cloudrun_env_names() -> set[str]:
    import yaml

    spec = yaml.safe_load(CLOUDRUN.read_text())["spec"]["template"]["spec"]
    return {v["name"] for c in spec["containers"] for v in c.get("env", [])}


def deployment_env_names() -> set[str]:
    names = compose_env_names() | cloudrun_env_names()
    for overlay in OVERLAYS:
        names |= k8s_env_names(overlay)
    for dockerfile in DOCKERFILES:
        names |= dockerfile_env_names(dockerfile) - {"PATH", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED"}
    return names


def test_compose_serves_the_writers_snapshots_read_only_from_one_volume() -> None:
    services = compose()["services"]
    writer, server = services["snapshots"], services["snapshots-web"]
    directory = writer["environment"]["SNAPSHOT_DIR"]
    assert server["environment"]["SNAPSHOT_DIR"] == directory
    assert f"snapshots-data:{directory}" in writer["volumes"]
    assert f"snapshots-data:{directory}:ro" in server["volumes"]
    # The file server holds no secret and reaches no store.
    assert not {"DATABASE_URL", "REDIS_URL", "INGEST_TOKEN"} & set(server["environment"])
