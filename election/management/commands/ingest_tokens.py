"""`python manage.py ingest_tokens issue|revoke|list`: the sedes' credentials, for operators.

    manage.py ingest_tokens issue --departamento Chimaltenango --municipio Patzun --sede 7 --label "mesa 7"
    manage.py ingest_tokens issue --digitador "Ana López"   (any mesa's actas, no votes)
    manage.py ingest_tokens revoke --id 12
    manage.py ingest_tokens revoke --departamento Chimaltenango --municipio Patzun --sede 7
    manage.py ingest_tokens list [--all]

`issue` prints the token once; only its SHA-256 is kept, so it cannot be shown again.
`list` never prints tokens.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from election.admission.tokens import (
    token_issue,
    token_issue_digitador,
    token_revoke,
    tokens_list,
    tokens_revoke_for_sede,
)
from election.votes.types import VoteInvalid


class Command(BaseCommand):
    help = "Issue, revoke and list the per-sede tokens of the ingest entry points."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        issue = actions.add_parser("issue", help="a new token for one sede (printed once)")
        _sede_arguments(issue, required=False)
        issue.add_argument("--digitador", help="a digitador's name: a token for any mesa's actas")
        issue.add_argument("--label", default="", help="who holds it, e.g. the sede's operator")
        revoke = actions.add_parser("revoke", help="revoke one token (--id) or every token of a sede")
        revoke.add_argument("--id", type=int, help="the token's id, as `list` shows it")
        _sede_arguments(revoke, required=False)
        listing = actions.add_parser("list", help="the tokens, without their values")
        listing.add_argument("--all", action="store_true", help="include revoked tokens")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['action']}")(options)
        except VoteInvalid as exc:
            raise CommandError("; ".join(m for messages in exc.errors.values() for m in messages)) from exc

    def _issue(self, options: dict[str, Any]) -> None:
        if options["digitador"]:
            if options["departamento"] or options["municipio"] or options["sede"]:
                raise CommandError("give --digitador, or --departamento, --municipio and --sede; not both")
            token, row = token_issue_digitador(digitador=options["digitador"], label=options["label"])
            self.stdout.write(f"token {row.pk} for digitador {row.digitador}")
            self.stdout.write("Give it over a trusted channel; it is not stored and cannot be shown again:")
            self.stdout.write(token)
            return
        if not (options["departamento"] and options["municipio"] and options["sede"]):
            raise CommandError("give --departamento, --municipio and --sede, or --digitador")
        token, row = token_issue(
            departamento=options["departamento"],
            municipio=options["municipio"],
            sede=options["sede"],
            label=options["label"],
        )
        self.stdout.write(f"token {row.pk} for sede {row.sede} of {row.municipio_id} ({options['label']})")
        self.stdout.write(
            "Give it to the sede over a trusted channel; it is not stored and cannot be shown again:"
        )
        self.stdout.write(token)

    def _revoke(self, options: dict[str, Any]) -> None:
        if options["id"] is not None:
            if not token_revoke(token_id=options["id"]):
                raise CommandError(f"no active token with id {options['id']}")
            self.stdout.write(self.style.SUCCESS(f"revoked token {options['id']}"))
            return
        if not (options["departamento"] and options["municipio"] and options["sede"]):
            raise CommandError("give --id, or --departamento, --municipio and --sede")
        count = tokens_revoke_for_sede(
            departamento=options["departamento"], municipio=options["municipio"], sede=options["sede"]
        )
        self.stdout.write(self.style.SUCCESS(f"revoked {count} token(s)"))

    def _list(self, options: dict[str, Any]) -> None:
        self.stdout.write("id\tdepartamento\tmunicipio\tsede\tcreated\trevoked\tlabel")
        for row in tokens_list(include_revoked=options["all"]):
            revoked = row.revoked_at.isoformat(timespec="seconds") if row.revoked_at else "-"
            if row.digitador:
                self.stdout.write(f"{row.pk}\tdigitador\t{row.digitador}\t-\t-\t{revoked}\t{row.label}")
                continue
            place = f"{getattr(row.departamento, 'nombre', '-')}\t{getattr(row.municipio, 'nombre', '-')}"
            self.stdout.write(
                f"{row.pk}\t{place}\t{row.sede}\t"
                f"{row.created_at.isoformat(timespec='seconds')}\t{revoked}\t{row.label}"
            )


def _sede_arguments(parser: CommandParser, *, required: bool) -> None:
    parser.add_argument("--departamento", required=required, help="name or INE code")
    parser.add_argument("--municipio", required=required, help="name, alias or INE code")
    parser.add_argument("--sede", required=required, help="the sede's number")
