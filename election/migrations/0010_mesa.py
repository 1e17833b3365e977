"""The catalogue of mesas (JRV). Its sede is compared byte for byte, as every other sede column
(0005, 0007): on MySQL/MariaDB the column gets utf8mb4_bin; SQLite compares BINARY already."""

import django.db.models.deletion
from django.db import migrations, models

COLUMN = "ALTER TABLE `election_mesa` MODIFY `sede` varchar(32) {collation} NOT NULL"


def sede_binary(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "mysql":
        schema_editor.execute(COLUMN.format(collation="CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"))


class Migration(migrations.Migration):
    dependencies = [
        ("election", "0009_partido_kind"),
    ]

    operations = [
        migrations.CreateModel(
            name="Mesa",
            fields=[
                (
                    "numero",
                    models.PositiveIntegerField(
                        help_text="JRV number, unique nationally", primary_key=True, serialize=False
                    ),
                ),
                ("sede", models.CharField(max_length=32)),
                ("padron", models.PositiveIntegerField(help_text="Registered voters of the mesa")),
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
                "ordering": ["numero"],
                "indexes": [
                    models.Index(fields=["departamento"], name="mesa_departamento_idx"),
                    models.Index(fields=["departamento", "municipio"], name="mesa_municipio_idx"),
                    models.Index(fields=["departamento", "municipio", "sede"], name="mesa_sede_idx"),
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("numero__gte", 1)), name="mesa_numero_positive"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("padron__gte", 1)), name="mesa_padron_positive"
                    ),
                ],
            },
        ),
        # Dropping the table undoes this too.
        migrations.RunPython(sede_binary, migrations.RunPython.noop, atomic=False),
    ]
