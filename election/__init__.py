"""Escrutinio's Django project and the vote domain. Importing it starts and loads nothing:
the Celery app lives in election.celery, which the worker (`celery -A election`) and the
publisher (through ingest_pubsub.tasks) import themselves."""
