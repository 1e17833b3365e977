"""The Celery app of the Redis route: `celery -A election worker -Q votes`.

Configured from Django settings (the CELERY_ names in election/settings.py, where each
reliability choice is explained). The tasks live in `ingest_pubsub.tasks`, named in
CELERY_IMPORTS, so this package never imports a route.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "election.settings")

app = Celery("escrutinio")
app.config_from_object("django.conf:settings", namespace="CELERY")
