"""GET /api/results/area: one area's results, progress and children, thin over
election.results.areas (which the snapshots read in bulk).

Tagged by its content but for `as_of` (the time it was computed), since it reads the actas,
which change without a vote being stored; kept a moment by the microcache, as every public read.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request

from election.api import area_serializers as api
from election.api.views import ERRORS, PublicReadView, content_tagged
from election.results import areas


class AreaView(PublicReadView):
    query_serializer = api.AreaViewQuery

    @extend_schema(
        parameters=[api.AreaViewQuery],
        responses={200: api.AreaAnswer, 400: ERRORS},
        summary="One area's results, its actas' progress, and each child's leader and margin",
    )
    def get(self, request: Request) -> Any:
        params = self.query(request)
        data = areas.area_view(
            params["source"], params["papeleta"], params["departamento"], params["municipio"], params["sede"]
        )
        return content_tagged(request, data, tagged={k: v for k, v in data.items() if k != "as_of"})
