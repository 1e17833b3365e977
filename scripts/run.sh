#!/usr/bin/env bash
# make run: set up and start the whole system on embedded defaults (SQLite, a local Redis).
source "$(dirname "$0")/venv.sh" requirements.txt run
export ESCRUTINIO_DEV="${ESCRUTINIO_DEV:-1}"
export LOG_FORMAT="${LOG_FORMAT:-plain}"
export SNAPSHOT_KEEP="${SNAPSHOT_KEEP:-30}"  # the demo: 10 MB a snapshot, 0.2 GB a detail generation; keep the newest 30 (docs/snapshots.md)
echo "== migrating and loading the catalogue (${DATABASE_URL:-SQLite in var/})"
python manage.py migrate --noinput -v0
python manage.py load_catalogue
python manage.py load_mesas --if-empty election/catalogue/data/mesas_2023.csv  # the demo mesas (synthetic)
python manage.py check
python manage.py collectstatic --noinput -v0  # admin and browsable-API styles, served by WhiteNoise
# The dashboard (frontend/dist, served at /): built when missing or its sources changed.
# Without Node.js the rest still starts; / then says how to build it.
bash scripts/frontend.sh || echo "== dashboard NOT built (see above); starting the rest: the API and admin work" >&2
# Access (SECURITY.md): every vote needs a token. Without INGEST_TOKEN, this run makes a random
# one for the session, accepted for every sede, kept in var/ingest-token for `make load`.
if [ -z "${INGEST_TOKEN:-}" ]; then
  INGEST_TOKEN=$(python -c 'import secrets; print(secrets.token_urlsafe(32))')
  echo "== INGEST_TOKEN not set: this run made a demo token, accepted for every sede:"
else
  echo "== INGEST_TOKEN is set: this run accepts it for every sede:"
fi
export INGEST_TOKEN
(umask 077 && mkdir -p var && printf '%s\n' "$INGEST_TOKEN" > var/ingest-token)
echo "     Authorization: Bearer $INGEST_TOKEN"
echo "   Locust and make load send it. Per-sede tokens, as in production:"
echo "     ESCRUTINIO_DEV=1 .venv/bin/python manage.py ingest_tokens issue --departamento Chimaltenango --municipio Patzun --sede 7"
host="http://${BIND_HOST:-127.0.0.1}"
echo "== starting (Ctrl-C stops everything). Then open:"
echo "     $host:${API_PORT:-8000}/   the dashboard; the API at /api/ (/api/docs/), the admin at /admin/"
echo "     $host:${SNAPSHOT_WEB_PORT:-8003}/latest.json   the newest results snapshot (its files under /<id>/), served as static files"
echo "     $host:${LOCUST_WEB_PORT:-8089}/   Locust, the load (votes to the gateway :${GATEWAY_PORT:-8001} and the publisher :${PUBLISHER_PORT:-8002})"
echo "   An admin login (in another shell): ESCRUTINIO_DEV=1 .venv/bin/python manage.py createsuperuser"
exec python -m scripts.run
