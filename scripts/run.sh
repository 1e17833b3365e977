#!/usr/bin/env bash
# make run: set up and start the whole system on embedded defaults (SQLite, a local Redis).
source "$(dirname "$0")/venv.sh" requirements.txt
export ESCRUTINIO_DEV="${ESCRUTINIO_DEV:-1}"
export LOG_FORMAT="${LOG_FORMAT:-plain}"
echo "== migrating and loading the catalogue (${DATABASE_URL:-SQLite in var/})"
python manage.py migrate --noinput -v0
python manage.py load_catalogue
python manage.py check
echo "== starting (Ctrl-C stops everything)"
exec python -m scripts.run
