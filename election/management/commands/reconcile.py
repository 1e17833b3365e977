from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from election.results.reconciliation import tallies_rebuild, tally_differences


class Command(BaseCommand):
    help = (
        "Recount every tally from the vote table and the acta entries and report differences; "
        "with --fix, rewrite the tallies from the recount (recording transactions wait meanwhile)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--fix", action="store_true", help="repair the tallies from the recount")
        parser.add_argument("--show", type=int, default=20, help="how many differences to list")

    def handle(self, *args: Any, **options: Any) -> None:
        differences = tallies_rebuild() if options["fix"] else tally_differences()
        for diff in differences[: options["show"]]:
            self.stdout.write(f"{diff.tally} {diff.key}: recount {diff.counted}, tally {diff.tallied}")
        if len(differences) > options["show"]:
            self.stdout.write(f"... and {len(differences) - options['show']} more")
        if not differences:
            self.stdout.write(self.style.SUCCESS("tallies agree with the vote table and the acta entries"))
        elif options["fix"]:
            self.stdout.write(self.style.SUCCESS(f"repaired {len(differences)} tally rows"))
        else:
            raise CommandError(f"{len(differences)} tally rows disagree; run with --fix to repair")
