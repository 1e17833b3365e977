"""An acta's head names its mesa's sede, and the counted actas' ballots are tallied per sede
(ActaSedeTally, per papeleta; ActaSedeTotal, over all): the top sedes of `source=actas`.

Every sede column is compared byte for byte (0005, 0010). The heads already stored take their
mesa's sede, and the actas already counted are added to the new tallies from their heads' counted
entries, as the recording transaction would have added them.
"""

import functools
from collections import Counter

import django.db.models.deletion
from django.db import migrations, models

SEDE_TABLES = ("election_acta", "election_actasedetally", "election_actasedetotal")
COLUMN = "ALTER TABLE `{table}` MODIFY `sede` varchar(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL"


def sede_binary(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "mysql":
        for table in SEDE_TABLES:
            schema_editor.execute(COLUMN.format(table=table))


def counted_actas_add(apps, schema_editor):  # type: ignore[no-untyped-def]
    """Each head takes its mesa's sede; each counted acta adds its counted entry's valid, nulos
    and blancos to its sede's rows."""
    model = functools.partial(apps.get_model, "election")
    mesa_sede = model("Mesa").objects.filter(numero=models.OuterRef("mesa_id")).values("sede")[:1]
    model("Acta").objects.update(sede=models.Subquery(mesa_sede))
    heads = model("Acta").objects.filter(counted_entry__isnull=False)
    per_papeleta, total = Counter(), Counter()
    for head in heads.select_related("counted_entry").iterator(chunk_size=2000):
        entry = head.counted_entry
        ballots = sum(entry.votes.values()) + entry.nulos + entry.blancos
        sede = (head.departamento_id, head.municipio_id, head.sede)
        per_papeleta[(*sede, head.papeleta_id)] += ballots
        total[sede] += ballots
    model("ActaSedeTally").objects.bulk_create(
        (
            model("ActaSedeTally")(departamento_id=d, municipio_id=m, sede=s, papeleta_id=p, ballots=n)
            for (d, m, s, p), n in sorted(per_papeleta.items())
        ),
        batch_size=2000,
    )
    model("ActaSedeTotal").objects.bulk_create(
        (
            model("ActaSedeTotal")(departamento_id=d, municipio_id=m, sede=s, ballots=n)
            for (d, m, s), n in sorted(total.items())
        ),
        batch_size=2000,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("election", "0012_vote_mesa"),
    ]

    operations = [
        migrations.AddField(
            model_name="acta",
            name="sede",
            field=models.CharField(default="", max_length=32),  # the mesa's, set below
            preserve_default=False,
        ),
        migrations.CreateModel(
            name="ActaSedeTally",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "departamento",
                        "municipio",
                        "sede",
                        "papeleta",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("sede", models.CharField(max_length=32)),
                ("ballots", models.BigIntegerField(default=0)),
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
            ],
            options={
                "indexes": [
                    models.Index(
                        fields=["papeleta", "-ballots", "departamento", "municipio", "sede"],
                        name="acta_sede_tally_top_idx",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="ActaSedeTotal",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "departamento",
                        "municipio",
                        "sede",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("sede", models.CharField(max_length=32)),
                ("ballots", models.BigIntegerField(default=0)),
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
            ],
            options={
                "indexes": [
                    models.Index(
                        fields=["-ballots", "departamento", "municipio", "sede"],
                        name="acta_sede_total_top_idx",
                    )
                ],
            },
        ),
        # Dropping the tables and the column undoes these too.
        migrations.RunPython(sede_binary, migrations.RunPython.noop, atomic=False),
        migrations.RunPython(counted_actas_add, migrations.RunPython.noop),
    ]
