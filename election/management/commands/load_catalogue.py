from pathlib import Path
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from election.catalogue.index import CATALOGUE_DIR, build_index, catalogue_index_clear, load_catalogue


class Command(BaseCommand):
    help = "Load (upsert) the election catalogue from CSV files. Safe to run again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dir", type=Path, default=CATALOGUE_DIR, help="folder with the CSV files")

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            counts = load_catalogue(apps, options["dir"])
            build_index()  # fails, and rolls back, if the catalogue is ambiguous
        catalogue_index_clear()
        for table, count in counts.items():
            self.stdout.write(f"{table}: {count}")
