"""Who may connect to whom, in every rendered overlay: exactly the table below, nothing more.

The rendered NetworkPolicies are evaluated (tests/deploy/netpol.py) between our pods and the
pods and addresses around them, the ingress controller, Prometheus, the cluster DNS, a
stranger pod in our namespace, a pod wearing our labels in another namespace, the internet,
and asserted equal to PEERS, on each side alone (the client's egress, the server's ingress)
and on both together: an edge opened on one side only, or one side left open, fails.
"""

from __future__ import annotations

import ipaddress

import pytest

from tests.deploy.manifests import OVERLAYS, WORKLOADS, needs_kubectl, of_kind, rendered
from tests.deploy.netpol import Connection, Endpoint, Policies, address, pod, workload_endpoint

pytestmark = needs_kubectl
overlays = pytest.mark.parametrize("overlay", OVERLAYS)

NAMESPACE = "escrutinio"
UDP, TCP = "UDP", "TCP"
DNS = ((53, UDP), (53, TCP))
# Where the gke overlay's patch sends the database clients until the operator fills in the
# real addresses: TEST-NET-1 (RFC 5737), which reaches nothing.
CLOUD_SQL_PLACEHOLDER = "192.0.2.10"
MEMORYSTORE_PLACEHOLDER = "192.0.2.20"

# part -> who reaches it (ingress) and what it reaches (egress) besides DNS: the table that
# k8s/base/network.yaml's header and the docs quote. MySQL is the in-cluster MariaDB where the
# overlay has one, else Cloud SQL; Redis is the in-cluster Redis, else Memorystore.
HTTP_PORT = {"api": 8000, "gateway": 8001, "publisher": 8002}
METRICS_PORT = {**HTTP_PORT, "grpc": 9101, "worker": 9102}
MYSQL_CLIENTS = {"api", "grpc", "migrate", "publisher", "worker", "snapshots"}
REDIS_CLIENTS = {"api", "grpc", "publisher", "worker", "snapshots"}
# On GKE the snapshot writer (it writes the bucket) and the API (it reads the newest manifest)
# alone reach Cloud Storage (Private Google Access) and the metadata server that hands them
# their Workload Identity tokens; elsewhere nobody does.
CLOUD_STORAGE_CLIENTS = {"snapshots", "api"}
PRIVATE_GOOGLE_ACCESS = "199.36.153.9"  # in private.googleapis.com, 199.36.153.8/30
GRPC_CLIENTS = {"gateway"}
DNS_RESOLVERS = ("kube-dns", "node-local-dns", "cloud-dns")

SURROUNDINGS = (
    pod(
        "ingress-controller",
        "ingress-nginx",
        {"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"},
        ("http", 80, TCP),
        ("https", 443, TCP),
    ),
    # ingress-nginx's admission webhook jobs share its namespace: not the controller.
    pod(
        "ingress-admission-job",
        "ingress-nginx",
        {"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "admission-webhook"},
    ),
    pod("prometheus", "gmp-system", {"app.kubernetes.io/name": "collector"}, ("prom-metrics", 19001, TCP)),
    pod("kube-dns", "kube-system", {"k8s-app": "kube-dns"}, ("dns", 53, UDP), ("dns-tcp", 53, TCP)),
    # `kubectl run` in our namespace: reaches nothing, reached by nothing.
    pod("stranger", NAMESPACE, {"run": "debug"}, ("http", 8080, TCP)),
    # Our labels in another namespace: still a stranger.
    pod(
        "impostor",
        "default",
        {"app.kubernetes.io/name": "escrutinio", "app.kubernetes.io/component": "gateway"},
        ("http", 8001, TCP),
    ),
    address("node-local-dns", "169.254.20.10", *DNS),
    address("cloud-dns", "169.254.169.254", *DNS, (80, TCP)),  # also the metadata server
    address("internet", "8.8.8.8", *DNS, (80, TCP), (443, TCP), (3306, TCP), (6379, TCP)),
    address("cloud-sql", CLOUD_SQL_PLACEHOLDER, (3306, TCP), (443, TCP)),
    address("memorystore", MEMORYSTORE_PLACEHOLDER, (6379, TCP), (443, TCP)),
    address("google-apis", PRIVATE_GOOGLE_ACCESS, (443, TCP), (80, TCP)),
)


def expected_connections(parts: set[str], *, cloud_storage: bool) -> set[Connection]:
    """PEERS as connections, for an overlay that runs `parts` (and stores the snapshots in a
    Cloud Storage bucket, `cloud_storage`, or in the writer's own volume)."""
    mysql, redis = (
        ("mariadb" if "mariadb" in parts else "cloud-sql"),
        ("redis" if "redis" in parts else "memorystore"),
    )
    mysql_port, redis_port = (3306, TCP), (6379, TCP)
    allowed: set[Connection] = set()
    allowed |= {("ingress-controller", part, port, TCP) for part, port in HTTP_PORT.items()}
    allowed |= {("prometheus", part, port, TCP) for part, port in METRICS_PORT.items()}
    allowed |= {(client, "grpc", 50051, TCP) for client in GRPC_CLIENTS}
    allowed |= {(client, mysql, *mysql_port) for client in MYSQL_CLIENTS}
    allowed |= {(client, redis, *redis_port) for client in REDIS_CLIENTS}
    ours = parts - {"mariadb", "redis"}
    allowed |= {(part, resolver, *port) for part in ours for resolver in DNS_RESOLVERS for port in DNS}
    if "locust" in parts:
        allowed.add(("locust", "ingress-controller", 80, TCP))
    if cloud_storage:
        allowed |= {(client, "google-apis", 443, TCP) for client in CLOUD_STORAGE_CLIENTS & parts}
        allowed |= {(client, "cloud-dns", 80, TCP) for client in CLOUD_STORAGE_CLIENTS & parts}
    return allowed


def world(overlay: str) -> tuple[Policies, list[Endpoint]]:
    resources = rendered(overlay)
    pods = [workload_endpoint(w) for w in of_kind(resources, *WORKLOADS)]
    return Policies(of_kind(resources, "NetworkPolicy")), pods + list(SURROUNDINGS)


@overlays
def test_each_part_reaches_and_is_reached_by_exactly_its_peers(overlay: str) -> None:
    policies, endpoints = world(overlay)
    parts = {e.name for e in endpoints if e.namespace == NAMESPACE and e.name != "stranger"}
    expected = expected_connections(parts, cloud_storage=overlay == "gke")
    sides = policies.connections(endpoints)
    in_namespace = {e.name for e in endpoints if e.namespace == NAMESPACE}

    # What happens between the pods and addresses around ours is not these policies' business.
    ours = {c for c in sides["both"] if c[0] in in_namespace or c[1] in in_namespace}
    assert_same(ours, expected, f"{overlay}: connections")
    # Each side alone: the egress of our pods, the ingress of our pods.
    assert_same(
        {c for c in sides["egress"] if c[0] in in_namespace},
        {c for c in expected if c[0] in in_namespace},
        f"{overlay}: egress of our pods",
    )
    assert_same(
        {c for c in sides["ingress"] if c[1] in in_namespace},
        {c for c in expected if c[1] in in_namespace},
        f"{overlay}: ingress of our pods",
    )


@overlays
def test_every_pod_of_the_namespace_is_denied_both_ways_by_default(overlay: str) -> None:
    (deny,) = [
        p
        for p in of_kind(rendered(overlay), "NetworkPolicy")
        if p["spec"]["podSelector"] == {} and not p["spec"].get("ingress") and not p["spec"].get("egress")
    ]
    assert set(deny["spec"]["policyTypes"]) == {"Ingress", "Egress"}


def test_the_gke_overlay_sends_the_database_clients_to_addresses_that_reach_nothing_until_set() -> None:
    """The committed placeholders fail closed: a documentation range, never a wide block. The
    one block wider than an address is Google's published Private Google Access range."""
    blocks = {
        peer["ipBlock"]["cidr"]
        for policy in of_kind(rendered("gke"), "NetworkPolicy")
        for rule in policy["spec"].get("egress", [])
        for peer in rule.get("to", [])
        if "ipBlock" in peer
    }
    resolvers = {"169.254.20.10/32", "169.254.169.254/32"}
    private_google_access = "199.36.153.8/30"
    assert blocks - resolvers - {private_google_access} == {
        f"{CLOUD_SQL_PLACEHOLDER}/32",
        f"{MEMORYSTORE_PLACEHOLDER}/32",
    }
    for block in blocks - {private_google_access}:
        assert ipaddress.ip_network(block).num_addresses == 1, block


@overlays
def test_only_the_load_test_overlay_runs_locust(overlay: str) -> None:
    resources = rendered(overlay)
    locust = [r for r in resources if r["metadata"]["name"].startswith("locust")]
    if overlay == "load-test":
        assert {r["kind"] for r in locust} == {"Deployment", "Service", "NetworkPolicy"}
    else:
        assert locust == [], f"{overlay} must not ship Locust, whose pod holds the all-sede token"


def assert_same(actual: set[Connection], expected: set[Connection], what: str) -> None:
    extra, missing = sorted(actual - expected), sorted(expected - actual)
    assert not extra and not missing, (
        f"{what}\n  allowed but not in the table: {extra}\n  in the table but denied: {missing}"
    )
