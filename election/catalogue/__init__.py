"""The catalogue: departamentos, municipios, sedes' places, papeletas and partidos.

`index` loads it from the CSV files in `data/` and keeps the in-memory index that
validation resolves field names against.

May import: election.models, election.lib, Django. Never a route, the ingest runtime or results.
"""
