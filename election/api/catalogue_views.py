"""The catalogue of mesas (JRV): the list, filtered by area, and one mesa by its number.

Thin over election.catalogue.mesa_selectors. The catalogue changes only when an operator loads
a file, so answers may be kept a minute (Cache-Control).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from election.api import catalogue_serializers as api
from election.api.views import ERRORS, PublicReadView, VotesPagination
from election.catalogue import mesa_selectors

CACHE_CONTROL = "public, max-age=60"


class MesasPagination(VotesPagination):
    """Cursor pages in mesa order: the number is unique, so a cursor is one index position."""

    ordering = "numero"
    page_size = 100
    max_page_size = 1000


class MesaListView(PublicReadView):
    query_serializer = api.MesasQuery
    paging_parameters = (MesasPagination.cursor_query_param, MesasPagination.page_size_query_param)
    pagination_class = MesasPagination

    @extend_schema(
        parameters=[api.MesasQuery],
        responses={200: api.MesaSerializer(many=True), 400: ERRORS},
        summary="The mesas (JRV) of the catalogue, by number, filtered by area",
    )
    def get(self, request: Request) -> Any:
        params = self.query(request)
        paginator = MesasPagination()
        page = paginator.paginate_queryset(mesa_selectors.mesas_filtered(**params), request, view=self)
        data = {
            "next": paginator.get_next_link(),
            "previous": paginator.get_previous_link(),
            "results": api.MesaSerializer(page, many=True).data,
        }
        return Response(data, headers={"Cache-Control": CACHE_CONTROL})


class MesaDetailView(PublicReadView):
    @extend_schema(
        parameters=[
            OpenApiParameter("mesa", OpenApiTypes.INT, OpenApiParameter.PATH, description="JRV number")
        ],
        responses={
            200: api.MesaSerializer,
            404: OpenApiResponse(api.NotFoundAnswer, description="No mesa of that number"),
        },
        summary="One mesa (JRV) by its number",
    )
    def get(self, request: Request, mesa: str) -> Response:
        found = mesa_selectors.mesa_get(int(mesa)) if mesa.isascii() and mesa.isdigit() else None
        if found is None:
            return Response({"detail": f"Mesa '{mesa[:20]}' is not in the catalogue."}, status=404)
        return Response(api.MesaSerializer(found).data, headers={"Cache-Control": CACHE_CONTROL})
