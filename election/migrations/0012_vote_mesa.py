"""A vote may name its mesa (JRV); MesaTally counts those votes per mesa for the acta comparison.

A nullable column at the end of the vote table: MariaDB adds it in place (ALGORITHM=INSTANT).
It follows the actas' migration (0011_actas).
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("election", "0011_actas"),
    ]

    operations = [
        migrations.AddField(
            model_name="vote",
            name="mesa",
            field=models.PositiveIntegerField(
                blank=True, help_text="Mesa (JRV) the ballot was cast at", null=True
            ),
        ),
        migrations.CreateModel(
            name="MesaTally",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "mesa",
                        "papeleta",
                        "partido",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("mesa", models.PositiveIntegerField()),
                ("votes", models.PositiveBigIntegerField(default=0)),
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
            ],
        ),
    ]
