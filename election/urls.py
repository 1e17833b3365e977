from django.contrib import admin
from django.urls import include, path, re_path

from election.api import dashboard, health

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("election.api.urls")),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", health.metrics_view, name="metrics"),
    # The built dashboard (frontend/dist); its bundles under /assets/ come from WhiteNoise.
    path("", dashboard.index, name="dashboard"),
    # The site's own URLs (frontend/src/App.tsx), so that a shared link loads the page too.
    re_path(dashboard.PAGE_PATHS, dashboard.index, name="dashboard-page"),
    path("config.js", dashboard.config_js, name="dashboard-config"),
]
