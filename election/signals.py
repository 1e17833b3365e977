"""An admin edit of the catalogue takes effect at once in the process that made it."""

from django.db.models.signals import post_delete, post_save

from election import models
from election.catalogue import index, mesa_index

for _model in (
    models.Departamento,
    models.Municipio,
    models.MunicipioAlias,
    models.Papeleta,
    models.Partido,
    models.PartidoAlias,
):
    for _signal in (post_save, post_delete):
        _signal.connect(lambda **_: index.catalogue_index_clear(), sender=_model, weak=False)
for _signal in (post_save, post_delete):
    _signal.connect(lambda **_: mesa_index.mesa_index_clear(), sender=models.Mesa, weak=False)
