"""The vote: its vocabulary (`types`, `fields`), validation, and recording with its SQL and
tallies, idempotent on `vote_id`. Both routes end in `recording.votes_record`.

May import: election.catalogue, election.models, election.observability, election.lib, Django.
`types` and `fields` import nothing of Django, so the Django-free edge can share them.
Never a route, the ingest or writer runtimes, or results.
"""
