"""A sede is compared byte for byte: 'Escuela A' and 'escuela a' are two sedes, in the vote
table and in the tallies alike (a case-insensitive collation would merge their tally rows
and their unique keys while the vote table kept both spellings). SQLite compares BINARY
already; on MySQL/MariaDB the columns get utf8mb4_bin."""

from django.db import migrations

SEDE_COLUMNS = ("election_vote", "election_sedetally", "election_sedetotal")


def sede_binary(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "mysql":
        return
    for table in SEDE_COLUMNS:
        schema_editor.execute(
            f"ALTER TABLE `{table}` MODIFY `sede` varchar(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL"
        )


class Migration(migrations.Migration):
    dependencies = [("election", "0004_ingest_token")]

    operations = [migrations.RunPython(sede_binary, migrations.RunPython.noop, atomic=False)]
