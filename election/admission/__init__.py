"""Who may report, and how fast: bearer credentials, per-sede tokens, the per-sede rate.

One admission gate for both routes (`tokens.vote_admit`, or its two halves
`token_authenticate` and `grant_admit`). `credentials` is Django-free for the edge.

May import: election.votes, election.actas, election.catalogue, election.models, election.lib,
Django.
Never a route or the ingest/writer runtimes.
"""
