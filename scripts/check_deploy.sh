#!/usr/bin/env bash
# The deployment files, checked offline: hadolint on the Dockerfiles, the Compose file against
# the Compose specification, every kustomize overlay rendered and validated against the
# Kubernetes API schemas (strict: unknown kinds and fields fail), checkov on k8s/ and the
# Dockerfiles. No Docker engine or cluster needed. Tools: requirements-deploy.txt in .venv-deploy.
set -euo pipefail
cd "$(dirname "$0")/.."
# The API versions GKE's channels run now and the newest the schemas know.
KUBERNETES_VERSIONS="${KUBERNETES_VERSIONS:-1.35.0 1.37.0}"
venv=.venv-deploy
stamp="$venv/.installed-requirements-deploy.txt"
if [ ! -x "$venv/bin/python" ]; then
  "${PYTHON:-python3}" -m venv "$venv"
fi
if [ ! -f "$stamp" ] || [ requirements-deploy.txt -nt "$stamp" ]; then
  echo "== installing requirements-deploy.txt into $venv"
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q -r requirements-deploy.txt
  touch "$stamp"
fi
bin="$venv/bin"
command -v kubectl >/dev/null || { echo "check_deploy: kubectl is needed to render k8s/ (kubectl kustomize)" >&2; exit 3; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "== hadolint"
"$bin/hadolint" Dockerfile Dockerfile.dashboard

echo "== docker-compose.yml against the Compose specification"
"$bin/check-jsonschema" --builtin-schema vendor.compose-spec docker-compose.yml
echo "== k8s/cloudbuild.yaml against Cloud Build's schema"
"$bin/check-jsonschema" --builtin-schema vendor.cloudbuild k8s/cloudbuild.yaml

for overlay in k8s/overlays/*/; do
  name=$(basename "$overlay")
  kubectl kustomize "$overlay" > "$out/$name.yaml"
  for version in $KUBERNETES_VERSIONS; do
    echo "== kubectl kustomize $overlay | kubernetes-validate --strict (Kubernetes $version)"
    "$bin/kubernetes-validate" --strict --quiet -k "$version" "$out/$name.yaml" | tee "$out/$name.log"
    # An unknown kind is only a warning there; here it fails.
    if grep -q "WARN" "$out/$name.log"; then
      echo "check_deploy: $overlay has resources kubernetes-validate could not check" >&2
      exit 1
    fi
  done
done

echo "== checkov (k8s/ through kustomize, the Dockerfiles)"
"$bin/checkov" --quiet --compact --skip-download -d k8s --framework kustomize
"$bin/checkov" --quiet --compact --skip-download --framework dockerfile -f Dockerfile -f Dockerfile.dashboard
echo "== deployment checks passed"
