"""The Django app's models, one module per concern: the catalogue, the streamed votes and their
tallies, access, the actas. Django finds models through this module, so it names them all;
import them from here.
"""

from election.models.access import IngestToken
from election.models.actas import (
    ACTA_ROUTE_ADMIN,
    ACTA_ROUTES,
    Acta,
    ActaEntry,
    ActaProgress,
    ActaSedeTally,
    ActaSedeTotal,
    ActaStatusChoice,
    ActaTally,
    ActaVersion,
)
from election.models.catalogue import (
    SEDE_MAX_LENGTH,
    Departamento,
    Mesa,
    Municipio,
    MunicipioAlias,
    Papeleta,
    PapeletaPartido,
    Partido,
    PartidoAlias,
    PartidoKind,
)
from election.models.snapshots import Snapshot, SnapshotLease
from election.models.votes import AreaTally, MesaTally, Route, RouteTally, SedeTally, SedeTotal, Vote

__all__ = [
    "ACTA_ROUTES",
    "ACTA_ROUTE_ADMIN",
    "SEDE_MAX_LENGTH",
    "Acta",
    "ActaEntry",
    "ActaProgress",
    "ActaSedeTally",
    "ActaSedeTotal",
    "ActaStatusChoice",
    "ActaTally",
    "ActaVersion",
    "AreaTally",
    "Departamento",
    "IngestToken",
    "Mesa",
    "MesaTally",
    "Municipio",
    "MunicipioAlias",
    "Papeleta",
    "PapeletaPartido",
    "Partido",
    "PartidoAlias",
    "PartidoKind",
    "Route",
    "RouteTally",
    "SedeTally",
    "SedeTotal",
    "Snapshot",
    "SnapshotLease",
    "Vote",
]
