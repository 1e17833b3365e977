"""Each page the open-data files read comes straight off Acta's unique (mesa, papeleta) key, on
MariaDB, over the full demo catalogue's actas (24,427 mesas x 5 papeletas; the fixtures of
tests/api/test_acta_query_plans.py): never a full scan, never a sort, at most its mesas' actas
read. The writers' own queries are captured and run again under ANALYZE. `pytest -s` prints them.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from election.results.opendata import write_nist_report, write_results_csv
from election.results.opendata.reading import PAGE_MESAS, UNIQUE_KEY
from tests.api.test_acta_query_plans import PAPELETAS, many_actas, with_db  # noqa: F401  # fixtures
from tests.api.test_query_plans import analyzed, plan_line


def acta_pages(write: Any) -> list[str]:
    """The SELECTs of Acta a writer ran while writing a file into memory."""
    with CaptureQueriesContext(connection) as captured:
        write(io.BytesIO())
    return [query["sql"] for query in captured.captured_queries if "FROM `election_acta`" in query["sql"]]


def test_every_page_of_both_files_is_a_range_of_the_unique_key(with_db: None) -> None:  # noqa: F811
    writers = {
        "results.csv": write_results_csv,
        "nist-1500-100.json": lambda out: write_nist_report(out, generated=datetime.now(UTC)),
    }
    for name, write in writers.items():
        pages = acta_pages(write)
        assert len(pages) == -(-24_427 // PAGE_MESAS), name  # every mesa's page, and only those
        for number, sql in enumerate(pages):
            step = next(step for step in analyzed(sql) if step["table"] == "election_acta")
            if number in (0, len(pages) - 1):
                print(plan_line(f"{name} page {number + 1}", step))
            extra = step["Extra"] or ""
            assert step["type"] == "range" and step["key"] == UNIQUE_KEY, (name, number, step)
            assert "filesort" not in extra and "temporary" not in extra, (name, number, step)
            assert float(step["r_rows"] or 0) <= PAGE_MESAS * PAPELETAS, (name, number, step)
