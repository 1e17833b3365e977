#!/usr/bin/env bash
# make test: the whole suite against real MariaDB and Redis.
# make test-quick (TEST_LANE=quick): ruff, then the tests not marked slow, first failure stops.
# Uses DATABASE_URL / REDIS_URL when they answer, else starts throwaway servers itself.
source "$(dirname "$0")/venv.sh" requirements-dev.txt test
export DATABASE_URL="${DATABASE_URL:-mysql://root@127.0.0.1:3306/escrutinio}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/15}"  # the suite flushes this database
exports=$(python -m scripts.devservices ensure --database) || exit $?
eval "$exports"
trap 'python -m scripts.devservices stop' EXIT
export ESCRUTINIO_DEV=1 DJANGO_SECRET_KEY="${DJANGO_SECRET_KEY:-test-only-secret-key}"
echo "== DATABASE_URL=$DATABASE_URL REDIS_URL=$REDIS_URL"
echo "== ruff"
ruff check .
ruff format --check . || { echo "run: ruff format ." >&2; exit 1; }
if [ "${TEST_LANE:-}" = quick ]; then
  # The domain, the API and the shared runtime, in process; the tests that start the routes'
  # processes (grpc, pubsub, properties, load, deploy, faults, browser) wait for make test.
  echo "== pytest (quick lane)"
  [ $# -gt 0 ] || set -- tests/votes tests/actas tests/catalogue tests/admission tests/results \
    tests/api tests/ingest tests/writer tests/lib tests/observability tests/project
  pytest -m "not slow" -x -q "$@"
  exit $?
fi
echo "== mypy"
mypy
echo "== django checks"
python manage.py check
PYTHONWARNINGS=ignore::RuntimeWarning python manage.py makemigrations --check --dry-run -v0 || { echo "models changed without a migration" >&2; exit 1; }
echo "== pytest"
pytest "$@"
