"""`python manage.py snapshot_verify [--dir DIR | --url URL [--api URL]]`: checks the published
chain from latest.json back to the first snapshot, as an outsider would: it reads the published
files only (election/results/snapshots/verify.py, Django-free), never the database. Exit 1 on any
mismatch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from election.results.snapshots.verify import Directory, Http, Published, report_lines, verify_chain


class Command(BaseCommand):
    help = (
        "Verify the snapshot chain: latest.json, every manifest's form and previous hash, every file's "
        "SHA-256 and size. Exit 1 on any mismatch."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        where = parser.add_mutually_exclusive_group()
        where.add_argument("--dir", type=Path, help="a snapshot root on disk (default: SNAPSHOT_DIR)")
        where.add_argument("--url", help="a snapshot root over HTTP, e.g. SNAPSHOT_PUBLIC_URL")
        parser.add_argument(
            "--api",
            help="with --url: the API's list of snapshots (e.g. http://127.0.0.1:8000/api/snapshots/), "
            "where a previous manifest is found by its hash",
        )
        parser.add_argument(
            "--last", type=int, help="only the newest N snapshots (links and files), not back to the first"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        published: Published
        if options["url"]:
            published = Http(options["url"], options["api"])
        else:
            published = Directory(options["dir"] or Path(settings.SNAPSHOT_DIR))
        if options["last"] is not None and options["last"] < 1:
            raise CommandError("--last must be at least 1")
        report = verify_chain(published, last=options["last"])
        for line in report_lines(report):
            (self.stdout if report.ok else self.stderr).write(line)
        if not report.ok:
            raise CommandError("snapshot chain not verified", returncode=1)
