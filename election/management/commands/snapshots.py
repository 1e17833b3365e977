"""`python manage.py snapshots [--once]`: the snapshot loop (election/results/snapshots/loop.py)."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from election.api.snapshot_panels import panel_files
from election.results.snapshots.area_files import area_files, sede_files
from election.results.snapshots.detail import DetailHolder, detail_adopt
from election.results.snapshots.files import FileSource, timeline_files
from election.results.snapshots.loop import detail_once, snapshot_once, snapshots_loop
from election.results.snapshots.open_files import open_files
from election.results.snapshots.storage import snapshot_storage

# What a regular snapshot holds, in the order it is written (docs/snapshots.md).
SNAPSHOT_SOURCES: tuple[FileSource, ...] = (timeline_files, panel_files, area_files)
# What a detail generation holds, referenced by the regular snapshots (docs/snapshots.md).
DETAIL_SOURCES: tuple[FileSource, ...] = (sede_files, open_files)


class Command(BaseCommand):
    help = (
        "Write a snapshot of all results every SNAPSHOT_INTERVAL_S seconds (files, manifest, latest.json), "
        "and the detail tier (sedes, open data) at most every SNAPSHOT_DETAIL_INTERVAL_S in the background "
        "(docs/snapshots.md). SIGTERM ends it cleanly."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--once",
            action="store_true",
            help="write one detail generation and one snapshot referencing it, and exit",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        if options["once"]:
            holder = DetailHolder(detail_adopt(snapshot_storage()))
            if not detail_once(DETAIL_SOURCES, stop, holder) or not snapshot_once(
                SNAPSHOT_SOURCES, stop, holder
            ):
                raise CommandError("the snapshot failed (see the log)")
            return
        snapshots_loop(
            interval_s=settings.SNAPSHOT_INTERVAL_S,
            sources=SNAPSHOT_SOURCES,
            stop=stop,
            heartbeat=settings.SNAPSHOT_HEARTBEAT_FILE,
            detail_sources=DETAIL_SOURCES,
            detail_interval_s=settings.SNAPSHOT_DETAIL_INTERVAL_S,
        )
