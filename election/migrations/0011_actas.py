"""Actas (issue 22): entries, versions, heads and their tallies; digitador tokens; the partidos
on each papeleta's ballot and the TREP's party names, loaded from the catalogue files."""

import django.db.models.deletion
from django.db import migrations, models

from election.catalogue.index import load_catalogue


def load(apps, schema_editor):  # type: ignore[no-untyped-def]
    load_catalogue(apps)  # the papeletas' partidos and the new aliases; upserts, never deletes


class Migration(migrations.Migration):
    dependencies = [
        ("election", "0010_mesa"),
    ]

    operations = [
        migrations.CreateModel(
            name="Acta",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Pendiente"),
                            ("counted", "Contabilizada"),
                            ("inconsistent", "Inconsistente"),
                            ("in_review", "En revisión"),
                        ],
                        max_length=16,
                    ),
                ),
                ("failed_rules", models.JSONField(default=list)),
                ("differing_fields", models.JSONField(default=list)),
                ("updated_at", models.DateTimeField()),
            ],
            options={
                "permissions": [
                    ("resolve_acta", "Can resolve an acta in review (choose or type its numbers)")
                ],
            },
        ),
        migrations.CreateModel(
            name="ActaEntry",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("acta_id", models.UUIDField(unique=True)),
                ("votes", models.JSONField(help_text="partido sigla -> votes")),
                ("nulos", models.PositiveIntegerField()),
                ("blancos", models.PositiveIntegerField()),
                ("invalidos", models.PositiveIntegerField()),
                ("impugnados", models.PositiveIntegerField()),
                ("total_valid", models.PositiveIntegerField()),
                ("total_cast", models.PositiveIntegerField()),
                ("voters", models.PositiveIntegerField()),
                ("ballots_received", models.PositiveIntegerField()),
                ("ballots_unused", models.PositiveIntegerField()),
                ("image_sha256", models.CharField(max_length=64)),
                ("entered_by", models.CharField(max_length=100)),
                ("credential", models.CharField(blank=True, default="", max_length=64)),
                ("corrects", models.BooleanField(default=False)),
                ("reason", models.TextField(blank=True, null=True)),
                (
                    "route",
                    models.CharField(
                        choices=[("grpc", "gRPC"), ("redis", "Redis"), ("admin", "Admin")], max_length=8
                    ),
                ),
                ("failed_rules", models.JSONField(default=list)),
                ("received_at", models.DateTimeField()),
                ("stored_at", models.DateTimeField()),
            ],
            options={
                "verbose_name_plural": "acta entries",
            },
        ),
        migrations.CreateModel(
            name="ActaProgress",
            fields=[
                (
                    "departamento",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="election.departamento",
                    ),
                ),
                (
                    "municipio",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="election.municipio"
                    ),
                ),
                (
                    "papeleta",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="election.papeleta"
                    ),
                ),
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "departamento",
                        "municipio",
                        "papeleta",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("actas_counted", models.BigIntegerField(default=0)),
                ("actas_inconsistent", models.BigIntegerField(default=0)),
                ("actas_in_review", models.BigIntegerField(default=0)),
                ("actas_pending", models.BigIntegerField(default=0)),
                ("padron", models.BigIntegerField(default=0)),
                ("voters", models.BigIntegerField(default=0)),
                ("valid", models.BigIntegerField(default=0)),
                ("nulos", models.BigIntegerField(default=0)),
                ("blancos", models.BigIntegerField(default=0)),
                ("cast", models.BigIntegerField(default=0)),
            ],
            options={
                "verbose_name_plural": "acta progress",
            },
        ),
        migrations.CreateModel(
            name="ActaTally",
            fields=[
                (
                    "departamento",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="election.departamento",
                    ),
                ),
                (
                    "municipio",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="election.municipio"
                    ),
                ),
                (
                    "papeleta",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="election.papeleta"
                    ),
                ),
                (
                    "partido",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="election.partido"
                    ),
                ),
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "departamento",
                        "municipio",
                        "papeleta",
                        "partido",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("votes", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.CreateModel(
            name="ActaVersion",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("number", models.PositiveIntegerField()),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Pendiente"),
                            ("counted", "Contabilizada"),
                            ("inconsistent", "Inconsistente"),
                            ("in_review", "En revisión"),
                        ],
                        max_length=16,
                    ),
                ),
                ("failed_rules", models.JSONField(default=list)),
                ("differing_fields", models.JSONField(default=list)),
                ("opened_at", models.DateTimeField()),
                ("decided_at", models.DateTimeField(blank=True, null=True)),
                (
                    "decided_by",
                    models.CharField(
                        blank=True,
                        default="",
                        help_text="the supervisor; blank when entries agreed",
                        max_length=150,
                    ),
                ),
                ("reason", models.TextField(blank=True, null=True)),
            ],
            options={
                "ordering": ["acta", "number"],
            },
        ),
        migrations.CreateModel(
            name="PapeletaPartido",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
            ],
        ),
        migrations.AddField(
            model_name="ingesttoken",
            name="digitador",
            field=models.CharField(
                blank=True, default="", help_text="a digitador's token: who types the actas", max_length=100
            ),
        ),
        migrations.AlterField(
            model_name="ingesttoken",
            name="departamento",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="election.departamento",
            ),
        ),
        migrations.AlterField(
            model_name="ingesttoken",
            name="municipio",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="election.municipio",
            ),
        ),
        migrations.AlterField(
            model_name="ingesttoken",
            name="sede",
            field=models.CharField(blank=True, default="", max_length=32),
        ),
        migrations.AddConstraint(
            model_name="ingesttoken",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("departamento__isnull", False),
                        ("digitador", ""),
                        ("municipio__isnull", False),
                        models.Q(("sede", ""), _negated=True),
                    ),
                    models.Q(
                        ("departamento__isnull", True),
                        ("municipio__isnull", True),
                        ("sede", ""),
                        models.Q(("digitador", ""), _negated=True),
                    ),
                    _connector="OR",
                ),
                name="ingest_token_sede_or_digitador",
            ),
        ),
        migrations.AddField(
            model_name="acta",
            name="departamento",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="+", to="election.departamento"
            ),
        ),
        migrations.AddField(
            model_name="acta",
            name="mesa",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="+", to="election.mesa"
            ),
        ),
        migrations.AddField(
            model_name="acta",
            name="municipio",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="+", to="election.municipio"
            ),
        ),
        migrations.AddField(
            model_name="acta",
            name="papeleta",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="+", to="election.papeleta"
            ),
        ),
        migrations.AddField(
            model_name="actaentry",
            name="mesa",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="+", to="election.mesa"
            ),
        ),
        migrations.AddField(
            model_name="actaentry",
            name="papeleta",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="+", to="election.papeleta"
            ),
        ),
        migrations.AddField(
            model_name="acta",
            name="counted_entry",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="election.actaentry",
            ),
        ),
        migrations.AddField(
            model_name="actaversion",
            name="acta",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="versions", to="election.acta"
            ),
        ),
        migrations.AddField(
            model_name="actaversion",
            name="chosen_entry",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="election.actaentry",
            ),
        ),
        migrations.AddField(
            model_name="actaentry",
            name="version",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="entries", to="election.actaversion"
            ),
        ),
        migrations.AddField(
            model_name="acta",
            name="current_version",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="election.actaversion",
            ),
        ),
        migrations.AddField(
            model_name="papeletapartido",
            name="papeleta",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="+", to="election.papeleta"
            ),
        ),
        migrations.AddField(
            model_name="papeletapartido",
            name="partido",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="+", to="election.partido"
            ),
        ),
        migrations.AddIndex(
            model_name="actaprogress",
            index=models.Index(fields=["papeleta", "departamento"], name="acta_progress_papeleta_idx"),
        ),
        migrations.AddIndex(
            model_name="actatally",
            index=models.Index(fields=["papeleta", "departamento"], name="acta_tally_papeleta_idx"),
        ),
        migrations.AddConstraint(
            model_name="actaversion",
            constraint=models.UniqueConstraint(fields=("acta", "number"), name="acta_version_unique"),
        ),
        migrations.AddIndex(
            model_name="actaentry",
            index=models.Index(fields=["mesa", "papeleta"], name="acta_entry_mesa_idx"),
        ),
        migrations.AddIndex(
            model_name="acta",
            index=models.Index(fields=["status", "mesa", "papeleta"], name="acta_status_idx"),
        ),
        migrations.AddIndex(
            model_name="acta",
            index=models.Index(fields=["status", "papeleta", "mesa"], name="acta_status_pap_idx"),
        ),
        migrations.AddIndex(
            model_name="acta",
            index=models.Index(fields=["status", "departamento", "mesa", "papeleta"], name="acta_dep_idx"),
        ),
        migrations.AddIndex(
            model_name="acta",
            index=models.Index(
                fields=["status", "departamento", "papeleta", "mesa"], name="acta_dep_pap_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="acta",
            index=models.Index(
                fields=["status", "departamento", "municipio", "mesa", "papeleta"], name="acta_mun_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="acta",
            index=models.Index(
                fields=["status", "departamento", "municipio", "papeleta", "mesa"], name="acta_mun_pap_idx"
            ),
        ),
        migrations.AddConstraint(
            model_name="acta",
            constraint=models.UniqueConstraint(fields=("mesa", "papeleta"), name="acta_mesa_papeleta_unique"),
        ),
        migrations.AddConstraint(
            model_name="papeletapartido",
            constraint=models.UniqueConstraint(
                fields=("papeleta", "partido"), name="papeleta_partido_unique"
            ),
        ),
        migrations.RunPython(load, migrations.RunPython.noop),
    ]
