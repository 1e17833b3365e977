"""Django serves the built dashboard: the page, its runtime config, and its hashed bundles."""

from pathlib import Path

import pytest
from django.test import Client


@pytest.fixture
def dist(tmp_path: Path, settings) -> Path:  # type: ignore[no-untyped-def]
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text('<script src="/config.js"></script><div id="root"></div>')
    (tmp_path / "assets" / "index-AbC123xy.js").write_text("console.log('dashboard')")
    (tmp_path / "geo").mkdir()
    (tmp_path / "geo" / "guatemala.topo.json").write_text('{"type": "Topology"}')
    settings.DASHBOARD_DIR = tmp_path
    return tmp_path


def test_the_page_is_the_built_index_never_cached(dist: Path) -> None:
    response = Client().get("/")
    assert response.status_code == 200
    assert response.content == (dist / "index.html").read_bytes()
    assert "no-cache" in response["Cache-Control"]


def test_the_bundles_are_served_and_cached_for_good(dist: Path) -> None:
    response = Client().get("/assets/index-AbC123xy.js")  # a new Client: WhiteNoise lists files at start
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"console.log('dashboard')"  # type: ignore[attr-defined]
    assert "immutable" in response["Cache-Control"]


def test_the_maps_shapes_are_served(dist: Path) -> None:
    response = Client().get("/geo/guatemala.topo.json")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b'{"type": "Topology"}'  # type: ignore[attr-defined]
    assert "immutable" not in response["Cache-Control"]  # the file keeps its name when it changes


def test_config_js_carries_api_url_as_data(settings) -> None:  # type: ignore[no-untyped-def]
    settings.API_URL = 'https://api.example.org/"</script><script>alert(1)'
    response = Client().get("/config.js")
    assert response["Content-Type"].startswith("text/javascript")
    assert "no-cache" in response["Cache-Control"]
    body = response.content.decode()
    assert body.startswith("window.ESCRUTINIO_CONFIG = {")
    assert "</script>" not in body  # cannot close the page's script element
    assert '"apiUrl": "https://api.example.org/\\"\\u003c/script>' in body


def test_same_origin_when_api_url_is_empty(settings) -> None:  # type: ignore[no-untyped-def]
    settings.API_URL = ""
    settings.DASHBOARD_SOURCE = "api"
    settings.SNAPSHOT_PUBLIC_URL = ""
    assert Client().get("/config.js").content == (
        b'window.ESCRUTINIO_CONFIG = {"apiUrl": "", "source": "api", "snapshotsUrl": ""};\n'
    )


def test_config_js_says_to_read_the_snapshots(settings) -> None:  # type: ignore[no-untyped-def]
    settings.DASHBOARD_SOURCE = "snapshots"
    settings.SNAPSHOT_PUBLIC_URL = "https://cdn.example.org/resultados/"
    body = Client().get("/config.js").content.decode()
    assert '"source": "snapshots"' in body
    assert '"snapshotsUrl": "https://cdn.example.org/resultados/"' in body


@pytest.mark.parametrize(
    "url",
    [
        "/d/01",
        "/m/0101",
        "/s/0101/363",
        "/mesa/0101/363/3678",
        "/votos",
        "/d/01/",
        "/m/0101?papeleta=municipal&source=votes",
    ],
)
def test_a_shared_link_to_any_page_of_the_site_loads_the_page(dist: Path, url: str) -> None:
    response = Client().get(url)
    assert response.status_code == 200
    assert response.content == (dist / "index.html").read_bytes()
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.parametrize("url", ["/d", "/d/01/extra", "/s/0101", "/mesa/3678", "/nothing", "/votos/x"])
def test_paths_outside_the_site_are_not_the_page(dist: Path, url: str) -> None:
    assert Client().get(url).status_code == 404


def test_without_a_build_the_page_says_how_to_make_one(tmp_path: Path, settings) -> None:  # type: ignore[no-untyped-def]
    settings.DASHBOARD_DIR = tmp_path / "missing"
    response = Client().get("/")
    assert response.status_code == 503
    assert b"npm ci &amp;&amp; npm run build" in response.content


def test_the_page_is_read_only(dist: Path) -> None:
    assert Client().post("/").status_code == 405
