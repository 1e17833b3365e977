"""The catalogue: departamentos, municipios, sedes' places, papeletas and partidos.

`index` loads it from the CSV files in `data/` and keeps the in-memory index that
validation resolves field names against; `mesa_index` keeps the mesas (JRV) the same way,
for a vote's mesa and the number of actas each area expects.

May import: election.models, election.lib, Django. Never a route, the ingest runtime or results.
"""
