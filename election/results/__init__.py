"""Reads: the results the API serves (`selectors`) and the recount that checks the tallies
against the stored votes (`reconciliation`).

May import: election.votes, election.catalogue, election.models, election.writer.live_feed
(reconcile rebuilds the latest list), Django. Never a route or the ingest runtime.
"""
