from django.db import migrations, models

from election.catalogue.index import load_catalogue


def load(apps, schema_editor):  # type: ignore[no-untyped-def]
    load_catalogue(apps)  # creates the NULO and BLANCO rows (if 0002 did not) and sets their kind


class Migration(migrations.Migration):
    """Null and blank ballots: Partido.kind, and the two rows such ballots are recorded against."""

    dependencies = [("election", "0008_vote_list_indexes")]

    # Reversing keeps the rows: votes may refer to them.
    operations = [
        migrations.AddField(
            model_name="partido",
            name="kind",
            field=models.CharField(
                choices=[("valid", "Voto válido"), ("nulo", "Voto nulo"), ("blanco", "Voto en blanco")],
                default="valid",
                help_text="valid for a partido; nulo or blanco for the rows null and blank ballots count against",
                max_length=8,
            ),
        ),
        migrations.RunPython(load, migrations.RunPython.noop),
    ]
