#!/usr/bin/env bash
# The snapshots on GKE: a Cloud Storage bucket behind Cloud CDN, the one identity that may
# write it and the one the API reads it with. Plain gcloud, since Kubernetes manifests cannot
# make a bucket (docs/deploy.md, "Snapshots on Cloud Storage and Cloud CDN"). Safe to run
# again: what exists is left as it is.
#
#   PROJECT_ID=my-election REGION=us-central1 SNAPSHOTS_HOST=resultados.example.org bash scripts/gcs_cdn.sh
#
# It makes:
#   1. the bucket $BUCKET (default $PROJECT_ID-escrutinio-snapshots), uniform access, readable by
#      anyone object by object (roles/storage.legacyObjectReader: get, never list);
#   2. the Google service account escrutinio-snapshots, allowed to write objects in that bucket
#      and nothing else (roles/storage.objectUser on the bucket: create, replace latest.json,
#      delete an abandoned snapshot's files), and the Kubernetes ServiceAccount
#      escrutinio/snapshots allowed to act as it (Workload Identity); and the Google service
#      account escrutinio-snapshots-reader, allowed only to read that bucket's objects
#      (roles/storage.legacyObjectReader on it), for escrutinio/api (/api/snapshots/latest);
#   3. Private Google Access for the cluster's subnet and a private Cloud DNS zone sending
#      *.googleapis.com to private.googleapis.com (199.36.153.8/30), the one Google range the
#      writer's and the API's NetworkPolicy opens (k8s/overlays/gke/snapshots-gcs.yaml);
#   4. Cloud CDN: a backend bucket (caching by the objects' own Cache-Control: a year for a
#      snapshot's files, 5 s for latest.json; gzip/brotli for clients that take it;
#      Access-Control-Allow-Origin: * on every answer) on a global external Application Load
#      Balancer with a Google-managed certificate for $SNAPSHOTS_HOST.
# Then point $SNAPSHOTS_HOST's DNS A record at the address it prints, and fill in the gke
# overlay (k8s/overlays/gke/kustomization.yaml) as it prints.
set -euo pipefail

: "${PROJECT_ID:?set PROJECT_ID}" "${REGION:?set REGION}" "${SNAPSHOTS_HOST:?set SNAPSHOTS_HOST, the host name readers use}"
BUCKET="${BUCKET:-$PROJECT_ID-escrutinio-snapshots}"
NETWORK="${NETWORK:-default}"
SUBNET="${SUBNET:-default}"
NAMESPACE=escrutinio          # k8s/base/kustomization.yaml
KSA=snapshots                 # k8s/base/snapshots.yaml
GSA_NAME=escrutinio-snapshots
GSA="$GSA_NAME@$PROJECT_ID.iam.gserviceaccount.com"
READER_KSA=api                # k8s/base/api.yaml
READER_GSA_NAME=escrutinio-snapshots-reader
READER_GSA="$READER_GSA_NAME@$PROJECT_ID.iam.gserviceaccount.com"
LB=escrutinio-snapshots       # the load balancer's pieces share this name
gcloud() { command gcloud --project "$PROJECT_ID" --quiet "$@"; }
exists() { gcloud "$@" >/dev/null 2>&1; }  # exists <describe command>

echo "== APIs"
gcloud services enable storage.googleapis.com compute.googleapis.com iam.googleapis.com dns.googleapis.com

echo "== 1. the bucket gs://$BUCKET"
exists storage buckets describe "gs://$BUCKET" ||
  gcloud storage buckets create "gs://$BUCKET" --location="$REGION" \
    --uniform-bucket-level-access --public-access-prevention=inherited \
    --soft-delete-duration=0  # an object is never replaced but latest.json: nothing to recover
gcloud storage buckets add-iam-policy-binding "gs://$BUCKET" \
  --member=allUsers --role=roles/storage.legacyObjectReader >/dev/null

echo "== 2. the writer's identity: $GSA, for $NAMESPACE/$KSA"
exists iam service-accounts describe "$GSA" ||
  gcloud iam service-accounts create "$GSA_NAME" --display-name="Escrutinio snapshot writer"
gcloud storage buckets add-iam-policy-binding "gs://$BUCKET" \
  --member="serviceAccount:$GSA" --role=roles/storage.objectUser >/dev/null
gcloud iam service-accounts add-iam-policy-binding "$GSA" --role=roles/iam.workloadIdentityUser \
  --member="serviceAccount:$PROJECT_ID.svc.id.goog[$NAMESPACE/$KSA]" >/dev/null

echo "== 2b. the API's identity: $READER_GSA, for $NAMESPACE/$READER_KSA (read only)"
exists iam service-accounts describe "$READER_GSA" ||
  gcloud iam service-accounts create "$READER_GSA_NAME" --display-name="Escrutinio API, snapshot reader"
gcloud storage buckets add-iam-policy-binding "gs://$BUCKET" \
  --member="serviceAccount:$READER_GSA" --role=roles/storage.legacyObjectReader >/dev/null
gcloud iam service-accounts add-iam-policy-binding "$READER_GSA" --role=roles/iam.workloadIdentityUser \
  --member="serviceAccount:$PROJECT_ID.svc.id.goog[$NAMESPACE/$READER_KSA]" >/dev/null

echo "== 3. Private Google Access and googleapis.com at private.googleapis.com"
gcloud compute networks subnets update "$SUBNET" --region="$REGION" --enable-private-ip-google-access
exists dns managed-zones describe googleapis ||
  gcloud dns managed-zones create googleapis --dns-name=googleapis.com. --visibility=private \
    --networks="$NETWORK" --description="Google APIs through Private Google Access (escrutinio snapshots)"
exists dns record-sets describe private.googleapis.com. --zone=googleapis --type=A ||
  gcloud dns record-sets create private.googleapis.com. --zone=googleapis --type=A --ttl=300 \
    --rrdatas=199.36.153.8,199.36.153.9,199.36.153.10,199.36.153.11
exists dns record-sets describe "*.googleapis.com." --zone=googleapis --type=CNAME ||
  gcloud dns record-sets create "*.googleapis.com." --zone=googleapis --type=CNAME --ttl=300 \
    --rrdatas=private.googleapis.com.

echo "== 4. Cloud CDN in front of the bucket, at https://$SNAPSHOTS_HOST/"
exists compute backend-buckets describe "$LB" ||
  gcloud compute backend-buckets create "$LB" --gcs-bucket-name="$BUCKET" \
    --enable-cdn --cache-mode=USE_ORIGIN_HEADERS --compression-mode=AUTOMATIC \
    --negative-caching --negative-caching-policy=404=5 \
    --custom-response-header="Access-Control-Allow-Origin: *"
exists compute url-maps describe "$LB" --global ||
  gcloud compute url-maps create "$LB" --global --default-backend-bucket="$LB"
exists compute addresses describe "$LB" --global ||
  gcloud compute addresses create "$LB" --global --ip-version=IPV4
exists compute ssl-certificates describe "$LB" --global ||
  gcloud compute ssl-certificates create "$LB" --global --domains="$SNAPSHOTS_HOST"
exists compute target-https-proxies describe "$LB" --global ||
  gcloud compute target-https-proxies create "$LB" --global --url-map="$LB" --ssl-certificates="$LB"
exists compute forwarding-rules describe "$LB" --global ||
  gcloud compute forwarding-rules create "$LB" --global --load-balancing-scheme=EXTERNAL_MANAGED \
    --address="$LB" --target-https-proxy="$LB" --ports=443

address=$(gcloud compute addresses describe "$LB" --global --format='value(address)')
cat <<EOF
== done. Now:
  - DNS: an A record $SNAPSHOTS_HOST -> $address (the certificate becomes ACTIVE once it resolves)
  - the gke overlay (k8s/overlays/gke/kustomization.yaml):
      sed -i "s|PROJECT_ID-escrutinio-snapshots|$BUCKET|; s|@PROJECT_ID.iam|@$PROJECT_ID.iam|g; s|https://snapshots.example.org/|https://$SNAPSHOTS_HOST/|" k8s/overlays/gke/kustomization.yaml
  - readers: https://$SNAPSHOTS_HOST/latest.json, then the files under https://$SNAPSHOTS_HOST/<id>/
EOF
