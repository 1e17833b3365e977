"""The publisher's entry point, as Django's wsgi.py is the API's:
`gunicorn ingest_pubsub.asgi:app -k uvicorn_worker.UvicornWorker` (the Procfile's `publisher:`).

Sets Django up, refuses to start without VOTE_QUEUE_KEY (rather than at the first vote), and
serves `POST /votes` (ingest_pubsub.publisher) and `POST /actas` (ingest_pubsub.acta_publisher)
on the shared edge. Only this module starts anything on import.
"""

from __future__ import annotations

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "election.settings")
django.setup()

from election.ingest.edge import edge_app  # noqa: E402
from election.models import Route  # noqa: E402
from ingest_pubsub import acta_publisher, publisher  # noqa: E402
from ingest_pubsub.messages import queue_key  # noqa: E402

queue_key()


async def on_shutdown() -> None:
    await acta_publisher.wait_idle()  # the actas' batches first: both share the publish thread
    await publisher.on_shutdown()


app = edge_app(
    handle_vote=publisher.handle_vote,
    handle_acta=acta_publisher.handle_acta,
    route=Route.REDIS.value,
    on_startup=publisher.on_startup,
    on_shutdown=on_shutdown,
    ready=publisher.ready,
)

__all__ = ["app"]
