"""Reads: the results the API serves (`selectors`, from the vote tallies; `acta_results`, the
same answers from the counted actas), the actas themselves and the progress of their count
(`actas`, with the per-mesa comparison of stream and acta), the area view of the site and the
snapshots (`areas`, its numbers read by `area_counts`), every acta of a sede at once
(`mesa_actas`), and the recount that checks the tallies against the stored votes
(`reconciliation`).

May import: election.votes, election.actas, election.catalogue, election.models,
election.writer.live_feed (reconcile rebuilds the latest list), Django. Never a route or the
ingest runtime.
"""
