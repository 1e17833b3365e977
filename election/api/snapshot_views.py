"""The snapshots through the API (docs/snapshots.md): the chain's list, the newest manifest's exact
bytes, and the count over time. Thin over the Snapshot rows and election.results.snapshots; the
snapshot files themselves are served by the static server or the CDN, never here.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

from election.api.catalogue_serializers import NotFoundAnswer
from election.api.serializers import SOURCE_ACTAS, SOURCE_VOTES, AreaQuery, NameField
from election.api.views import ERRORS, PublicReadView, VotesPagination, content_tagged, unavailable
from election.models import Snapshot
from election.results.snapshots.manifest import iso_time
from election.results.snapshots.storage import snapshot_storage
from election.results.snapshots.timeline import chain_national, timeline_answer

NO_SNAPSHOT = "No snapshot has been published yet."
LATEST_CACHE_CONTROL = "public, max-age=1"


def snapshot_url(snapshot: Snapshot) -> str:
    """Where readers fetch the manifest: the public root (static server, CDN), never a signed URL."""
    return settings.SNAPSHOT_PUBLIC_URL + snapshot.manifest_path


class SnapshotAnswer(serializers.Serializer):
    id = serializers.CharField(help_text="sortable UTC time, e.g. 20261207T140000.123Z")
    time = serializers.CharField(help_text="ISO 8601")
    previous = serializers.CharField(allow_null=True, help_text="SHA-256 of the previous manifest")
    sha256 = serializers.CharField(help_text="SHA-256 of this manifest's bytes")
    url = serializers.URLField(help_text="the manifest's public URL")
    counts = serializers.DictField()


class SnapshotListAnswer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = SnapshotAnswer(many=True)


class SnapshotsPagination(VotesPagination):
    """Newest first, by id (the primary key, a sortable time); each row carries its counts, so
    pages are smaller than the vote list's."""

    ordering = "-id"
    page_size = 20
    max_page_size = 100

    def decode_cursor(self, request: Request) -> Any:
        try:
            return CursorPagination.decode_cursor(self, request)
        except Exception as exc:  # DRF answers 404 for a bad cursor; it is a bad parameter
            raise ValidationError({"cursor": ["Invalid cursor."]}) from exc


class SnapshotListView(PublicReadView):
    paging_parameters = (SnapshotsPagination.cursor_query_param, SnapshotsPagination.page_size_query_param)

    @extend_schema(
        operation_id="snapshots_list",
        responses={200: SnapshotListAnswer, 400: ERRORS},
        summary="The published snapshots, newest first, each with its manifest's URL",
    )
    def get(self, request: Request) -> Any:
        paginator = SnapshotsPagination()
        page = paginator.paginate_queryset(Snapshot.objects.all(), request, view=self) or []
        data = {
            "next": paginator.get_next_link(),
            "previous": paginator.get_previous_link(),
            "results": [
                {
                    "id": s.id,
                    "time": iso_time(s.time),
                    "previous": s.previous_sha256,
                    "sha256": s.sha256,
                    "url": snapshot_url(s),
                    "counts": s.counts,
                }
                for s in page
            ],
        }
        return content_tagged(request, data)


class SnapshotLatestView(PublicReadView):
    @extend_schema(
        operation_id="snapshots_latest",
        responses={
            (200, "application/json"): OpenApiResponse(
                OpenApiTypes.OBJECT, description="the manifest's bytes"
            ),
            404: NotFoundAnswer,
        },
        summary="The newest snapshot's manifest, its exact bytes",
    )
    def get(self, request: Request) -> Any:
        newest = Snapshot.objects.order_by("-id").first()
        if newest is None:
            return Response({"detail": NO_SNAPSHOT}, status=404)
        etag = f'"{newest.sha256}"'  # strong: these are the manifest's bytes, which its hash names
        if etag in request.headers.get("If-None-Match", ""):
            response = HttpResponse(status=304)
        else:
            try:
                with snapshot_storage().open(newest.manifest_path, "rb") as manifest:
                    response = HttpResponse(manifest.read(), content_type="application/json")
            except OSError:
                return unavailable("The snapshot storage is unavailable: try again in a moment.")
        response["ETag"] = etag
        response["Cache-Control"] = LATEST_CACHE_CONTROL
        return response


class TimelineQuery(AreaQuery):
    source = serializers.ChoiceField(
        choices=[SOURCE_ACTAS, SOURCE_VOTES], required=False, allow_blank=True, default=SOURCE_ACTAS
    )
    papeleta = NameField(default="presidente", help_text="Code or ballot colour; presidente by default")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs["source"] = attrs.get("source") or SOURCE_ACTAS
        attrs["papeleta"] = attrs.get("papeleta") or "presidente"
        return super().validate(attrs)


class SnapshotTimelineView(PublicReadView):
    query_serializer = TimelineQuery

    @extend_schema(
        operation_id="snapshots_timeline",
        parameters=[TimelineQuery],
        responses={200: OpenApiTypes.OBJECT, 400: ERRORS},
        summary="The count over time, one point per snapshot (the last 1440), oldest first",
    )
    def get(self, request: Request) -> Any:
        params = self.query(request)
        source, papeleta = params["source"], params["papeleta"]
        return content_tagged(request, timeline_answer(source, papeleta, chain_national(source, papeleta)))
