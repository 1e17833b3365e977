"""The runtime both routes' database writers share (the gRPC server and the Celery worker):
the group committer (serial or pipelined) and its submissions, its database sessions, and
the live feed updated after commit.

This is the half of the shared runtime that needs the database, kept apart from
election.ingest so that the Django-free edge stays Django-free.
May import: election.votes, election.ingest (its Overloaded refusal), election.lib,
election.observability, Django. Never a route, results or the API.
"""
