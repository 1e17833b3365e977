"""The built React dashboard (frontend/dist), served by Django in the local run.

index.html and config.js are answered by views and never cached, so a rebuild or a new
API_URL shows at the next load; the content-hashed bundles under /assets/ are served by
WhiteNoise, cached for good. A deployment on its own (Cloud Run) serves the same dist/
from any static server, with frontend/scripts/write-config.sh writing config.js.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe
from whitenoise.middleware import WhiteNoiseMiddleware

# The results site's pages (frontend/src/App.tsx): /d/<dep>, /m/<mun>, /s/<mun>/<sede>,
# /mesa/<mun>/<sede>/<mesa> and /votos all answer with index.html; the page routes itself.
PAGE_PATHS = r"^(?:d/[^/]+|m/[^/]+|s/[^/]+/[^/]+|mesa/[^/]+/[^/]+/[^/]+|votos)/?$"

NOT_BUILT = (
    "<!doctype html><html lang='es'><meta charset='utf-8'><title>Escrutinio</title>"
    "<h1>El tablero no está compilado</h1>"
    "<p>The dashboard is not built: run <code>npm ci &amp;&amp; npm run build</code> in "
    "<code>frontend/</code> (<code>make run</code> does it when Node.js and npm are installed). "
    "The API is at <a href='/api/'>/api/</a>.</p></html>"
)


@require_safe
def index(request: HttpRequest) -> HttpResponse:
    try:
        html = (settings.DASHBOARD_DIR / "index.html").read_bytes()
    except FileNotFoundError:
        response = HttpResponse(NOT_BUILT, status=503)
    else:
        response = HttpResponse(html, content_type="text/html; charset=utf-8")
    patch_cache_control(response, no_cache=True)
    return response


@require_safe
def config_js(request: HttpRequest) -> HttpResponse:
    """The dashboard's runtime configuration: where the API is (API_URL, empty = this origin),
    what it reads (DASHBOARD_SOURCE) and where the snapshots are published (SNAPSHOT_PUBLIC_URL)."""
    config = json.dumps(
        {
            "apiUrl": settings.API_URL,
            "source": settings.DASHBOARD_SOURCE,
            "snapshotsUrl": getattr(settings, "SNAPSHOT_PUBLIC_URL", ""),
        }
    ).replace("<", "\\u003c")
    response = HttpResponse(
        f"window.ESCRUTINIO_CONFIG = {config};\n", content_type="text/javascript; charset=utf-8"
    )
    patch_cache_control(response, no_cache=True)
    return response


class DashboardWhiteNoise(WhiteNoiseMiddleware):
    """WhiteNoise for collected static files plus the dashboard's hashed bundles at /assets/
    and the map's shapes at /geo/ (frontend/public/geo, copied into the build)."""

    ASSETS_PREFIX = "/assets/"
    GEO_PREFIX = "/geo/"

    def __init__(self, get_response=None) -> None:  # type: ignore[no-untyped-def]
        super().__init__(get_response)
        assets = settings.DASHBOARD_DIR / "assets"
        self.add_files(str(assets), prefix=self.ASSETS_PREFIX)  # not built: index says how
        self.add_files(str(settings.DASHBOARD_DIR / "geo"), prefix=self.GEO_PREFIX)

    def add_files(self, root: str, prefix: str | None = None) -> None:
        # No warning for a STATIC_ROOT not collected yet (tests, a fresh checkout): the
        # admin then lacks its CSS, which `make run` avoids by running collectstatic.
        if Path(root).is_dir():
            super().add_files(root, prefix)

    def immutable_file_test(self, path: str, url: str) -> bool:
        # Vite puts a content hash in every file name under assets/.
        return url.startswith(self.ASSETS_PREFIX) or super().immutable_file_test(path, url)
