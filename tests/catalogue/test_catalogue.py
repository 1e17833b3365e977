from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import grpc
import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client

from election.catalogue import index as catalogue_module
from election.catalogue.index import (
    CatalogueError,
    CatalogueIndex,
    _IndexCache,
    build_index,
    load_catalogue,
    name_key,
)
from election.models import (
    Departamento,
    Municipio,
    MunicipioAlias,
    Papeleta,
    Partido,
    PartidoAlias,
    PartidoKind,
)
from ingest_grpc.protos.escrutinio.v1 import votes_pb2, votes_pb2_grpc
from tests.conftest import child_env
from tests.grpc.conftest import BearerToken, grpc_server_process
from tests.grpc.helpers import cast_request

# From the catalogue's README: municipios per departamento, in departamento code order.
MUNICIPIOS_PER_DEPARTAMENTO = [
    17,
    8,
    16,
    16,
    14,
    14,
    19,
    8,
    24,
    21,
    9,
    30,
    33,
    21,
    8,
    17,
    14,
    5,
    11,
    11,
    7,
    17,
]


@pytest.mark.django_db
def test_loaded_catalogue_has_22_departamentos_and_340_municipios() -> None:
    assert Departamento.objects.count() == 22
    assert Municipio.objects.count() == 340
    per_departamento = Counter(Municipio.objects.values_list("departamento_id", flat=True))
    assert [per_departamento[code] for code in sorted(per_departamento)] == MUNICIPIOS_PER_DEPARTAMENTO
    assert MunicipioAlias.objects.count() == 39
    assert Papeleta.objects.count() == 5
    assert Partido.objects.filter(kind=PartidoKind.VALID).count() == 26
    # and the two rows null and blank ballots are recorded against
    assert dict(Partido.objects.exclude(kind=PartidoKind.VALID).values_list("sigla", "kind")) == {
        "NULO": "nulo",
        "BLANCO": "blanco",
    }


@pytest.mark.django_db
def test_municipio_codes_belong_to_their_departamento() -> None:
    for code, departamento in Municipio.objects.values_list("code", "departamento_id"):
        assert code[:2] == departamento


@pytest.mark.django_db
def test_loading_again_changes_nothing() -> None:
    before = list(Municipio.objects.values_list("code", "nombre", "departamento_id"))
    counts = load_catalogue(apps)
    assert counts["municipio"] == 340
    assert list(Municipio.objects.values_list("code", "nombre", "departamento_id")) == before


@pytest.mark.django_db
def test_an_ambiguous_alias_is_refused() -> None:
    # An alias that names a different municipio in the same departamento makes names ambiguous.
    MunicipioAlias.objects.create(municipio_id="0101", alias="Mixco")
    with pytest.raises(CatalogueError, match="ambiguous"):
        build_index()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("written", "key"),
    [("Petén", "peten"), ("PETEN", "peten"), ("  San  José ", "san jose"), ("FCN-Nación", "fcn nacion")],
)
def test_name_key_ignores_case_accents_and_punctuation(written: str, key: str) -> None:
    assert name_key(written) == key


# --- The last good copy -------------------------------------------------------


@pytest.mark.django_db
def test_a_catalogue_that_no_longer_builds_leaves_the_last_good_copy_in_use(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.CATALOGUE_CACHE_SECONDS = 0  # re-read at every use
    cache: _IndexCache[CatalogueIndex] = _IndexCache()
    cache.RETRY_SECONDS = 0  # type: ignore[misc]  # re-read again at once after a failure
    good = cache.get()
    PartidoAlias.objects.create(partido_id="VAMOS", alias="Semilla")  # past the admin's check

    cache.clear()  # as an edit does: the next caller re-reads, in its own thread (this transaction)
    with caplog.at_level(logging.ERROR, logger="election.catalogue.index"):
        assert cache.get() is good
    assert "the catalogue could not be re-read" in caplog.text
    assert "ambiguous" in caplog.records[0].error  # type: ignore[attr-defined]
    with pytest.raises(CatalogueError):
        _IndexCache().get()  # a process that never read a good copy has nothing to fall back on

    PartidoAlias.objects.filter(alias="Semilla").delete()
    cache.clear()
    assert cache.get() is not good  # re-read once it builds again


def test_a_due_reread_happens_behind_the_callers(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A caller never waits on the database once a copy exists: during a partition a re-read
    hangs for a connect timeout, and the routes' hot paths must not hang with it."""
    settings.CATALOGUE_CACHE_SECONDS = 0  # every use finds the copy due for a re-read
    good, newer = CatalogueIndex(), CatalogueIndex()
    reads = iter([good])  # then `newer` at every re-read
    release, started = threading.Event(), threading.Event()

    def slow_build() -> CatalogueIndex:
        index = next(reads, newer)
        if index is newer:
            started.set()
            assert release.wait(10)  # the database answers only when the test says so
        return index

    monkeypatch.setattr(catalogue_module, "build_index", slow_build)
    cache: _IndexCache[CatalogueIndex] = _IndexCache()
    assert cache.get() is good  # the first read, in the caller
    assert cache.get() is good  # due: answered from the copy while the re-read starts behind
    assert started.wait(10)
    assert cache.get() is good  # still reading: the caller does not wait for it
    release.set()
    deadline = time.monotonic() + 10
    while cache.get() is not newer and time.monotonic() < deadline:
        time.sleep(0.01)
    assert cache.get() is newer


def test_the_grpc_route_answers_with_the_last_good_copy_while_the_catalogue_is_ambiguous(  # type: ignore[no-untyped-def]
    spawn, committed_db, redis_client, port
) -> None:
    grpc_server_process(spawn, child_env(CATALOGUE_CACHE_SECONDS="0"), port)  # reads it at start
    with grpc.insecure_channel(f"127.0.0.1:{port}") as plain_channel:
        stub = votes_pb2_grpc.VoteServiceStub(grpc.intercept_channel(plain_channel, BearerToken()))
        assert stub.CastVote(cast_request(), timeout=10).status == votes_pb2.CAST_STATUS_STORED
        with _ambiguous_partido_alias():
            answer = stub.CastVote(cast_request(partido="SEMILLA"), timeout=10)
    assert answer.status == votes_pb2.CAST_STATUS_STORED


def test_a_grpc_server_started_on_an_ambiguous_catalogue_answers_unavailable_until_repaired(  # type: ignore[no-untyped-def]
    spawn, committed_db, redis_client, port
) -> None:
    with _ambiguous_partido_alias():
        server = grpc_server_process(spawn, child_env(CATALOGUE_CACHE_SECONDS="0"), port)
        with grpc.insecure_channel(f"127.0.0.1:{port}") as plain_channel:
            stub = votes_pb2_grpc.VoteServiceStub(grpc.intercept_channel(plain_channel, BearerToken()))
            with pytest.raises(grpc.RpcError) as refused:
                stub.CastVote(cast_request(), timeout=10)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE  # never UNKNOWN: retry, nothing stored
    assert "catalogue not loaded at start" in server.output()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as plain_channel:
        stub = votes_pb2_grpc.VoteServiceStub(grpc.intercept_channel(plain_channel, BearerToken()))
        assert stub.CastVote(cast_request(), timeout=10).status == votes_pb2.CAST_STATUS_STORED


@contextmanager
def _ambiguous_partido_alias() -> Iterator[None]:
    """Semilla as an alias of VAMOS, written in SQL as a script would: SEMILLA is ambiguous."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO election_partidoalias (partido_id, alias) VALUES (%s, %s)", ["VAMOS", "Semilla"]
        )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM election_partidoalias WHERE alias = %s", ["Semilla"])


# --- The admin refuses an ambiguous alias --------------------------------------


@pytest.fixture
def staff(db: None) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("operator", password="pw-operator-1"))
    return client


@pytest.mark.parametrize(
    ("alias", "refused"),
    [
        ("Semilla", "«Semilla» ya nombra al partido SEMILLA"),  # another partido's sigla
        ("Movimiento  semilla", "ya nombra al partido SEMILLA"),  # its nombre, as name_key reads it
        ("FCN!", "«FCN!» ya nombra al partido FCN-NACION"),  # another partido's alias (FCN)
        ("En  Blanco!", "«En  Blanco!» ya nombra al partido BLANCO"),  # the blank ballots' row
        ("Vamos GT", None),
    ],
)
def test_the_admin_refuses_a_partido_alias_that_names_another_partido(
    staff: Client, alias: str, refused: str | None
) -> None:
    answer = staff.post("/admin/election/partido/VAMOS/change/", _partido_form("VAMOS", new_alias=alias))
    if refused is None:
        assert answer.status_code == 302, answer.content.decode()[:2000]
        assert PartidoAlias.objects.get(alias=alias).partido_id == "VAMOS"
    else:
        assert answer.status_code == 200  # the form again, with the error on the alias field
        assert refused in answer.content.decode()
        assert not PartidoAlias.objects.filter(partido_id="VAMOS", alias=alias).exists()
    build_index()  # the catalogue still builds


@pytest.mark.parametrize(
    ("alias", "refused"),
    [
        ("Comalapa", "«Comalapa» ya nombra al municipio San Juan Comalapa (0404) del mismo departamento"),
        ("TECPAN", "ya nombra al municipio Tecpán Guatemala (0406)"),
        ("Mixco", None),  # a municipio of another departamento: allowed, the departamento tells
    ],
)
def test_the_admin_refuses_a_municipio_alias_that_names_another_municipio_of_its_departamento(
    staff: Client, alias: str, refused: str | None
) -> None:
    answer = staff.post("/admin/election/municipio/0407/change/", _municipio_form("0407", new_alias=alias))
    if refused is None:
        assert answer.status_code == 302, answer.content.decode()[:2000]
        assert MunicipioAlias.objects.get(alias=alias).municipio_id == "0407"
    else:
        assert answer.status_code == 200
        assert refused in answer.content.decode()
        assert not MunicipioAlias.objects.filter(municipio_id="0407", alias=alias).exists()
    build_index()


def _partido_form(sigla: str, new_alias: str) -> dict[str, str]:
    partido = Partido.objects.get(sigla=sigla)
    fields = {"sigla": partido.sigla, "nombre": partido.nombre, "kind": partido.kind}
    return {**fields, **_aliases(partido.aliases.all(), new_alias)}


def _municipio_form(code: str, new_alias: str) -> dict[str, str]:
    municipio = Municipio.objects.get(code=code)
    fields = {"code": municipio.code, "nombre": municipio.nombre, "departamento": municipio.departamento_id}
    return {**fields, **_aliases(municipio.aliases.all(), new_alias)}


def _aliases(existing: Any, new_alias: str) -> dict[str, str]:
    """The inline formset's fields: the aliases there are, unchanged, and one new."""
    rows = [(str(alias.pk), alias.alias) for alias in existing] + [("", new_alias)]
    data = {
        "aliases-TOTAL_FORMS": str(len(rows)),
        "aliases-INITIAL_FORMS": str(len(rows) - 1),
        "aliases-MIN_NUM_FORMS": "0",
        "aliases-MAX_NUM_FORMS": "1000",
    }
    for i, (pk, alias) in enumerate(rows):
        data |= {f"aliases-{i}-id": pk, f"aliases-{i}-alias": alias}
    return data
