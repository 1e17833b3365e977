"""Open data: the full results as files anyone may download, in every snapshot (docs/opendata.md).

- `write_results_csv(out)`: `results.csv`, one row per mesa, papeleta and partido of the
  counted actas, the acta's totals as rows of their own, and a row per acta not counted.
- `write_nist_report(out, generated=...)`: `nist-1500-100.json`, the same counted actas as a
  NIST SP 1500-100 v2 `ElectionReport`, valid against NIST's schema (`nist_schema/`, vendored
  unchanged with its notice).

Both stream into a binary file object: they read the actas in pages (`reading`), write as they
go, and hold at most one papeleta's per-mesa numbers, whatever the size of the count; each reads
one consistent state of the database (`reading.consistent_read`).

May import what election.results may (election.models, election.catalogue, Django).
"""

from election.results.opendata.nist import write_nist_report
from election.results.opendata.results_csv import write_results_csv

__all__ = ["write_nist_report", "write_results_csv"]
