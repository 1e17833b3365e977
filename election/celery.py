"""The Celery app of the Redis route: `celery -A election worker -Q votes` (Procfile `worker:`).

Configured from Django settings (the CELERY_ names in election/settings.py). The tasks live
in `ingest_pubsub.tasks`, named in CELERY_IMPORTS, so this package never imports a route.
Why the worker is run as it is (no vote lost nor counted twice): docs/reliability.md#the-celery-worker.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "election.settings")

app = Celery("escrutinio")
app.config_from_object("django.conf:settings", namespace="CELERY")
# kombu's Redis transport with landing lists (no message lost between pop and unacked
# record) and the acks of one event-loop turn written in one MULTI/EXEC (see that module).
# Named, not imported, as CELERY_IMPORTS names the tasks.
app.conf.broker_transport = "ingest_pubsub.broker:Transport"
