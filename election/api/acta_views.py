"""The actas: one acta with its versions and entries, the list by status and area, and the
progress of the count. Thin over election.results.actas.

Answers are tagged by their content (an acta changes without a vote being stored, so the
results version does not serve) and may be kept a second, as the results are.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from election.api import acta_serializers as api
from election.api.catalogue_serializers import NotFoundAnswer
from election.api.views import ERRORS, PublicReadView, VotesPagination, content_tagged
from election.catalogue.index import NameUnknown, catalogue_index, papeleta_resolve
from election.catalogue.mesa_selectors import MESA_NUMBER_MAX
from election.results import actas as selectors


class ActasPagination(VotesPagination):
    """Cursor pages in (mesa, papeleta) order: the order every index of the list ends in."""

    ordering = selectors.ACTA_LIST_ORDER  # type: ignore[assignment]  # DRF takes a tuple too
    page_size = 50
    max_page_size = 500


class ActaListView(PublicReadView):
    query_serializer = api.ActasQuery
    paging_parameters = (ActasPagination.cursor_query_param, ActasPagination.page_size_query_param)

    @extend_schema(
        operation_id="actas_list",
        parameters=[api.ActasQuery],
        responses={200: api.ActaListAnswer, 400: ERRORS},
        summary="Actas by mesa, filtered by status, then area and papeleta",
    )
    def get(self, request: Request) -> Any:
        params = self.query(request)
        actas = selectors.actas_filtered(**params).select_related("counted_entry")
        paginator = ActasPagination()
        if params["papeleta"] is not None:
            paginator.ordering = selectors.ACTA_LIST_ORDER_ONE_PAPELETA  # type: ignore[assignment]
        page = paginator.paginate_queryset(actas, request, view=self) or []
        data = {
            "next": paginator.get_next_link(),
            "previous": paginator.get_previous_link(),
            "results": selectors.actas_listed(page),
        }
        return content_tagged(request, data)


class ActaDetailView(PublicReadView):
    @extend_schema(
        operation_id="acta_retrieve",
        parameters=[
            OpenApiParameter("mesa", OpenApiTypes.INT, OpenApiParameter.PATH, description="JRV number"),
            OpenApiParameter(
                "papeleta", OpenApiTypes.STR, OpenApiParameter.PATH, description="Code or ballot colour"
            ),
        ],
        responses={200: api.ActaAnswer, 404: OpenApiResponse(NotFoundAnswer, description="No such acta")},
        summary="One acta: its status, failed rules, counted numbers, versions, entries, and stream",
    )
    def get(self, request: Request, mesa: str, papeleta: str) -> Any:
        number = int(mesa) if mesa.isascii() and mesa.isdigit() and len(mesa) <= 10 else 0
        try:
            code = papeleta_resolve(papeleta)
        except NameUnknown as unknown:
            return Response({"detail": str(unknown)}, status=404)
        found = selectors.acta_detail(mesa=number, papeleta=code) if 1 <= number <= MESA_NUMBER_MAX else None
        if found is None:
            return Response({"detail": f"No acta of mesa '{mesa[:20]}' on papeleta '{code}'."}, status=404)
        return content_tagged(request, found)


class ProgressView(PublicReadView):
    query_serializer = api.ProgressQuery

    @extend_schema(
        parameters=[api.ProgressQuery],
        responses={200: api.ProgressAnswer, 400: ERRORS},
        summary="How far the count of the actas has gone, and the turnout of the counted mesas",
    )
    def get(self, request: Request) -> Any:
        params = self.query(request)
        progress = selectors.acta_progress(
            papeleta=params["papeleta"], departamento=params["departamento"], municipio=params["municipio"]
        )
        index = catalogue_index()
        data = {
            "papeleta": params["papeleta"],
            "departamento": index.departamento_names.get(params["departamento"])
            if params["departamento"]
            else None,
            "municipio": index.municipio_names.get(params["municipio"]) if params["municipio"] else None,
            **selectors.progress_answer(progress),
            "valid": progress.valid,
            "nulos": progress.nulos,
            "blancos": progress.blancos,
            "cast": progress.cast,
        }
        return content_tagged(request, data)
