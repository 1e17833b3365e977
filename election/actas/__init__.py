"""Actas: the tally sheet a mesa's junta signs per papeleta, typed twice by digitadores.

`types` (Django-free) names the acta, its statuses, the check rules and the outcomes;
`validation` checks a typed acta against the catalogue; `checks` runs the arithmetic rules;
`recording` stores a batch in one transaction (double entry and corrections decided by
`versions`, the counted tallies moved by `tallies`, which also recounts them from the stored
entries for reconcile); `resolution` is the supervisor's decision the admin calls; `trep`
turns a TREP sample acta into the POST /actas JSON.

May import: election.catalogue, election.votes (its types, fields and validation helpers),
election.models, election.observability, election.lib, Django. Never ingest, writer,
results, api, or a route.
"""
