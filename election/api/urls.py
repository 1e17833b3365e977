from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from election.api import acta_views, area_views, catalogue_views, snapshot_views, views

urlpatterns = [
    path("", views.ApiRootView.as_view(), name="api-root"),
    path("catalogue/", views.CatalogueView.as_view(), name="api-catalogue"),
    path("catalogue/mesas", catalogue_views.MesaListView.as_view(), name="api-mesas"),
    path("catalogue/mesas/<str:mesa>", catalogue_views.MesaDetailView.as_view(), name="api-mesa"),
    path("votes/", views.VoteListView.as_view(), name="api-votes"),
    path("votes/latest", views.LatestVotesView.as_view(), name="api-votes-latest"),
    path("results/top-departamentos", views.TopDepartamentosView.as_view(), name="api-top-departamentos"),
    path("results/partidos", views.PartidosView.as_view(), name="api-partidos"),
    path("results/top-sedes", views.TopSedesView.as_view(), name="api-top-sedes"),
    path("results/summary", views.SummaryView.as_view(), name="api-summary"),
    path("results/progress", acta_views.ProgressView.as_view(), name="api-progress"),
    path("results/area", area_views.AreaView.as_view(), name="api-area"),
    path("actas/", acta_views.ActaListView.as_view(), name="api-actas"),
    path("actas/<str:mesa>/<str:papeleta>", acta_views.ActaDetailView.as_view(), name="api-acta"),
    path("snapshots/", snapshot_views.SnapshotListView.as_view(), name="api-snapshots"),
    path("snapshots/latest", snapshot_views.SnapshotLatestView.as_view(), name="api-snapshots-latest"),
    path("snapshots/timeline", snapshot_views.SnapshotTimelineView.as_view(), name="api-snapshots-timeline"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
