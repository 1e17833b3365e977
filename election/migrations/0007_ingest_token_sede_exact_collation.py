"""A token's sede is compared byte for byte too, as 0005 made every other sede column: with
the table's case-insensitive collation, revoking the tokens of sede 'ESCUELA A' also revoked
those of 'Escuela A', another sede. SQLite compares BINARY already."""

from django.db import migrations

COLUMN = "ALTER TABLE `election_ingesttoken` MODIFY `sede` varchar(32) {collation} NOT NULL"


def sede_binary(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "mysql":
        schema_editor.execute(COLUMN.format(collation="CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"))


def sede_table_default(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "mysql":
        schema_editor.execute(COLUMN.format(collation=""))  # the table's own, as before


class Migration(migrations.Migration):
    dependencies = [("election", "0006_tally_natural_keys")]

    operations = [migrations.RunPython(sede_binary, sede_table_default, atomic=False)]
