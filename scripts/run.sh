#!/usr/bin/env bash
# make run: set up and start the whole system on embedded defaults (SQLite, a local Redis).
source "$(dirname "$0")/venv.sh" requirements.txt
export ESCRUTINIO_DEV="${ESCRUTINIO_DEV:-1}"
export LOG_FORMAT="${LOG_FORMAT:-plain}"
echo "== migrating and loading the catalogue (${DATABASE_URL:-SQLite in var/})"
python manage.py migrate --noinput -v0
python manage.py load_catalogue
python manage.py check
python manage.py collectstatic --noinput -v0  # admin and browsable-API styles, served by WhiteNoise
# The dashboard (frontend/dist, served at /): built when missing or its sources changed.
# Without Node.js the rest still starts; / then says how to build it.
bash scripts/frontend.sh || echo "== dashboard NOT built (see above); starting the rest: the API and admin work" >&2
echo "== starting (Ctrl-C stops everything)"
exec python -m scripts.run
