"""The chain of snapshots (election/models/snapshots.py): one row per published snapshot, and the
one lease row that lets a single writer extend the chain."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("election", "0013_acta_sede_tallies"),
    ]

    operations = [
        migrations.CreateModel(
            name="Snapshot",
            fields=[
                (
                    "id",
                    models.CharField(
                        help_text="sortable UTC time", max_length=24, primary_key=True, serialize=False
                    ),
                ),
                ("time", models.DateTimeField()),
                ("previous", models.CharField(blank=True, max_length=64, unique=True)),
                ("sha256", models.CharField(help_text="of the manifest's bytes", max_length=64, unique=True)),
                ("manifest_path", models.CharField(max_length=200)),
                ("counts", models.JSONField()),
                ("file_count", models.PositiveIntegerField()),
                (
                    "byte_count",
                    models.PositiveBigIntegerField(help_text="the files' bytes, the manifest's not included"),
                ),
            ],
            options={
                "ordering": ["-id"],
            },
        ),
        migrations.CreateModel(
            name="SnapshotLease",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("holder", models.CharField(blank=True, default="", max_length=64)),
                ("expires_at", models.DateTimeField(blank=True, null=True)),
            ],
        ),
    ]
