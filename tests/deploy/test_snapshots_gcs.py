"""The snapshot bucket's setup (scripts/gcs_cdn.sh, plain gcloud) and the gke overlay agree:
the Workload Identity bindings name the writer's and the API's ServiceAccounts, the overlay's
annotations name the Google service accounts the script makes (the writer's may write, the
API's only read), both parts use the bucket the script makes, and the Google addresses the
script's DNS zone answers are the ones their NetworkPolicy opens."""

from __future__ import annotations

import ipaddress
import re
import subprocess
from typing import Any

import pytest

from tests.deploy.manifests import ROOT, needs_kubectl, of_kind, rendered

SCRIPT = ROOT / "scripts" / "gcs_cdn.sh"
BUCKET_POLICY = "snapshot-bucket-clients"
pytestmark = needs_kubectl

# Each bucket client: its Kubernetes ServiceAccount's and Google service account's variables in
# the script, and the one role that Google account gets on the bucket.
IDENTITIES = {
    "snapshots": ("KSA", "GSA_NAME", "roles/storage.objectUser"),
    "api": ("READER_KSA", "READER_GSA_NAME", "roles/storage.legacyObjectReader"),
}


def script_value(name: str) -> str:
    match = re.search(rf'^{name}=("?)([^"\s#]+)\1', SCRIPT.read_text(), re.MULTILINE)
    assert match, name
    return match.group(2)


def named(resources: tuple[dict[str, Any], ...], kind: str, name: str) -> dict[str, Any]:
    (resource,) = [r for r in of_kind(resources, kind) if r["metadata"]["name"] == name]
    return resource


def config_map(overlay: str) -> dict[str, Any]:
    """The ConfigMap every part reads (its name carries kustomize's hash suffix)."""
    (found,) = [
        c
        for c in of_kind(rendered(overlay), "ConfigMap")
        if c["metadata"]["name"].startswith("escrutinio-config")
    ]
    return found


def test_the_script_is_valid_bash() -> None:
    assert subprocess.run(["bash", "-n", str(SCRIPT)], check=False).returncode == 0


@pytest.mark.parametrize("part", sorted(IDENTITIES))
def test_workload_identity_binds_each_parts_service_account_to_its_google_account(part: str) -> None:
    ksa_variable, gsa_variable, role = IDENTITIES[part]
    resources = rendered("gke")
    account = named(resources, "ServiceAccount", part)
    workload = named(resources, "Deployment", part)
    assert workload["spec"]["template"]["spec"]["serviceAccountName"] == account["metadata"]["name"]
    assert account["automountServiceAccountToken"] is False
    assert (script_value("NAMESPACE"), script_value(ksa_variable)) == (
        account["metadata"]["namespace"],
        account["metadata"]["name"],
    )
    google_account = account["metadata"]["annotations"]["iam.gke.io/gcp-service-account"]
    assert google_account == f"{script_value(gsa_variable)}@PROJECT_ID.iam.gserviceaccount.com"
    # The script grants that Google account this one role on the bucket, and no other.
    gsa = "$READER_GSA" if part == "api" else "$GSA"
    grants = re.findall(
        rf'add-iam-policy-binding "gs://\$BUCKET" \\\n\s+--member="serviceAccount:\{gsa}" --role=(\S+)',
        SCRIPT.read_text(),
    )
    assert grants == [role]


def test_the_parts_use_the_scripts_bucket_and_only_they_have_a_google_identity() -> None:
    resources = rendered("gke")
    data = config_map("gke")["data"]
    assert data["SNAPSHOT_STORAGE"] == "gcs"
    default_bucket = re.search(r'^BUCKET="\$\{BUCKET:-([^}]+)\}"', SCRIPT.read_text(), re.MULTILINE)
    assert default_bucket
    assert data["GS_BUCKET_NAME"] == default_bucket.group(1).replace("$PROJECT_ID", "PROJECT_ID")
    for workload in of_kind(resources, "Deployment", "StatefulSet", "Job"):
        spec = workload["spec"]["template"]["spec"]
        name = workload["metadata"]["name"]
        if name in IDENTITIES:  # the bucket reaches them through the shared ConfigMap
            (container,) = spec["containers"]
            assert {"configMapRef": {"name": config_map("gke")["metadata"]["name"]}} in container["envFrom"]
        else:
            assert spec.get("serviceAccountName", "default") == "default", name
    annotated = {
        a["metadata"]["name"]
        for a in of_kind(resources, "ServiceAccount")
        if "iam.gke.io/gcp-service-account" in a["metadata"].get("annotations", {})
    }
    assert annotated == set(IDENTITIES)


def test_the_api_reads_snapshots_from_the_bucket_on_gke_only() -> None:
    """On kind the API keeps the file backend and no Google identity or egress (test_network
    checks the egress of every overlay)."""
    data = config_map("local")["data"]
    assert data.get("SNAPSHOT_STORAGE", "file") == "file"
    assert "GS_BUCKET_NAME" not in data
    resources = rendered("local")
    assert "annotations" not in named(resources, "ServiceAccount", "api")["metadata"]
    assert BUCKET_POLICY not in {p["metadata"]["name"] for p in of_kind(resources, "NetworkPolicy")}


def test_the_google_addresses_the_script_resolves_are_the_ones_the_bucket_clients_may_reach() -> None:
    policy = named(rendered("gke"), "NetworkPolicy", BUCKET_POLICY)
    (selected,) = policy["spec"]["podSelector"]["matchExpressions"]
    assert selected["key"] == "app.kubernetes.io/component"
    assert set(selected["values"]) == set(IDENTITIES)
    blocks = [
        ipaddress.ip_network(peer["ipBlock"]["cidr"])
        for rule in policy["spec"]["egress"]
        for peer in rule["to"]
    ]
    rrdatas = re.search(r"--type=A --ttl=\d+ \\\n\s+--rrdatas=([\d.,]+)", SCRIPT.read_text())
    assert rrdatas
    addresses = [ipaddress.ip_address(a) for a in rrdatas.group(1).split(",")]
    assert len(addresses) == 4
    assert all(any(a in block for block in blocks) for a in addresses)
