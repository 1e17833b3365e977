from django.db import migrations

from election.catalogue.index import load_catalogue


def load(apps, schema_editor):  # type: ignore[no-untyped-def]
    load_catalogue(apps)


class Migration(migrations.Migration):
    dependencies = [("election", "0001_initial")]

    # Reversing keeps the rows: votes may refer to them.
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
