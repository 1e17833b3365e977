"""The snapshot bucket's setup (scripts/gcs_cdn.sh, plain gcloud) and the gke overlay agree:
the Workload Identity binding names the writer's ServiceAccount, the overlay's annotation
names the Google service account the script makes, the writer writes to the bucket the script
makes, and the Google addresses the script's DNS zone answers are the ones its NetworkPolicy opens."""

from __future__ import annotations

import ipaddress
import re
import subprocess

from tests.deploy.manifests import ROOT, needs_kubectl, of_kind, rendered

SCRIPT = ROOT / "scripts" / "gcs_cdn.sh"
pytestmark = needs_kubectl


def script_value(name: str) -> str:
    match = re.search(rf'^{name}=("?)([^"\s#]+)\1', SCRIPT.read_text(), re.MULTILINE)
    assert match, name
    return match.group(2)


def test_the_script_is_valid_bash() -> None:
    assert subprocess.run(["bash", "-n", str(SCRIPT)], check=False).returncode == 0


def test_workload_identity_binds_the_writers_service_account_to_the_scripts_google_account() -> None:
    resources = rendered("gke")
    (account,) = [a for a in of_kind(resources, "ServiceAccount") if a["metadata"]["name"] == "snapshots"]
    (writer,) = [d for d in of_kind(resources, "Deployment") if d["metadata"]["name"] == "snapshots"]
    assert writer["spec"]["template"]["spec"]["serviceAccountName"] == account["metadata"]["name"]
    assert (script_value("NAMESPACE"), script_value("KSA")) == (
        account["metadata"]["namespace"],
        account["metadata"]["name"],
    )
    google_account = account["metadata"]["annotations"]["iam.gke.io/gcp-service-account"]
    assert google_account == f"{script_value('GSA_NAME')}@PROJECT_ID.iam.gserviceaccount.com"


def test_the_writer_stores_to_the_scripts_bucket_and_only_the_writer_has_that_identity() -> None:
    resources = rendered("gke")
    (config,) = [
        c for c in of_kind(resources, "ConfigMap") if c["metadata"]["name"].startswith("escrutinio-config")
    ]
    assert config["data"]["SNAPSHOT_STORAGE"] == "gcs"
    default_bucket = re.search(r'^BUCKET="\$\{BUCKET:-([^}]+)\}"', SCRIPT.read_text(), re.MULTILINE)
    assert default_bucket
    assert config["data"]["GS_BUCKET_NAME"] == default_bucket.group(1).replace("$PROJECT_ID", "PROJECT_ID")
    for workload in of_kind(resources, "Deployment", "StatefulSet", "Job"):
        if workload["metadata"]["name"] != "snapshots":
            assert workload["spec"]["template"]["spec"].get("serviceAccountName", "default") == "default"


def test_the_google_addresses_the_script_resolves_are_the_ones_the_writer_may_reach() -> None:
    (policy,) = [
        p
        for p in of_kind(rendered("gke"), "NetworkPolicy")
        if p["metadata"]["name"] == "snapshots-to-cloud-storage"
    ]
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
