"""The HTTP edge both routes' front doors run: the raw ASGI app that stamps `received_at`,
gives a `vote_id`, checks the bearer and answers refusals (`edge`), and the asyncio batcher
that lets concurrent requests share one flush (`async_batcher`).

Nothing route-specific, and no Django or Celery: the gateway holds no database and no
Django key, so importing this package loads neither (tests/project/test_import_boundaries.py).
May import: election.votes.types, election.votes.fields, election.admission.credentials,
election.observability, election.lib.
"""
