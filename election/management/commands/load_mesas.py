from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from election.catalogue.mesa_load import MesasFileInvalid, mesas_load
from election.models import Mesa


class Command(BaseCommand):
    help = (
        "Load the catalogue of mesas (JRV) from a CSV file (departamento_code, municipio_code, sede, "
        "mesa, padron): the table becomes equal to the file. Any bad row: all reported, nothing written."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="the CSV file")
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing when the table holds mesas already"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if options["if_empty"] and Mesa.objects.exists():
            self.stdout.write("mesas: loaded already, left as they are")
            return
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        self.stdout.write(f"checking {path}")
        try:
            result = mesas_load(path, progress=self.stdout.write)
        except MesasFileInvalid as invalid:
            for line, message in invalid.errors:
                self.stderr.write(f"{path}:{line}: {message}")
            raise CommandError(f"{path}: {len(invalid.errors)} bad row(s); nothing was loaded") from invalid
        self.stdout.write(
            f"mesas: {result.inserted} inserted, {result.updated} updated, "
            f"{result.deleted} deleted, {result.unchanged} unchanged"
        )
