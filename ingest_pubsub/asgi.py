"""The publisher's entry point, as Django's wsgi.py is the API's:
`gunicorn ingest_pubsub.asgi:app -k uvicorn_worker.UvicornWorker` (the Procfile's `publisher:`).

Sets Django up, refuses to start without VOTE_QUEUE_KEY (rather than at the first vote), and
serves ingest_pubsub.publisher's app. Only this module starts anything on import.
"""

from __future__ import annotations

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "election.settings")
django.setup()

from ingest_pubsub.messages import queue_key  # noqa: E402
from ingest_pubsub.publisher import app  # noqa: E402

queue_key()

__all__ = ["app"]
