"""The results API's views: parse the query, call a selector, shape the answer.

Every results answer carries a weak ETag, the results version (see
selectors.results_version), and `Cache-Control: public, max-age=1`. A poller that sends
If-None-Match gets 304 for the price of that version query until votes are stored.
Repeats within RESULTS_MAX_AGE_MS never reach these views: see election/api/microcache.py.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import urlencode

import redis
from django.db import OperationalError
from django.http import HttpResponseNotModified
from django.utils.cache import patch_vary_headers
from django_filters.rest_framework import DjangoFilterBackend
from django_filters.utils import translate_validation
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from election.api import serializers as api
from election.api.etags import etag_matches
from election.api.filters import VoteFilter
from election.catalogue.index import catalogue_index
from election.models import Departamento, Papeleta, Partido, Vote
from election.results import acta_results, selectors
from election.results.selectors import ballots_answer
from election.writer import live_feed as live

CACHE_CONTROL = "public, max-age=1"
ERRORS = OpenApiResponse(api.ErrorsAnswer, description="A parameter is invalid or names nothing known")
RETRY_AFTER_SECONDS = 1
# MariaDB errors that mean "not now" rather than "wrong": answered 503 with Retry-After.
STATEMENT_TIMED_OUT = 1969  # max_statement_time exceeded (DB_STATEMENT_TIMEOUT_MS)
DATABASE_UNREACHABLE = {1040, 2002, 2003, 2006, 2013}  # too many connections; cannot connect; lost
TOO_SLOW = "Reading the results took longer than the API allows: try again in a moment."
UNREACHABLE = "The results database is unavailable: try again in a moment."


def unavailable(detail: str) -> Response:
    return Response({"detail": detail}, status=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


class PublicReadView(APIView):
    """Read-only and public: no session or user lookup per request; errors as {"errors": ...}."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    query_serializer: type[serializers.Serializer] | None = None
    paging_parameters: tuple[str, ...] = ()

    @classmethod
    def query_parameters(cls) -> frozenset[str]:
        """Every query parameter the answer depends on; the microcache keys answers on these alone."""
        fields = cls.query_serializer().fields if cls.query_serializer is not None else {}
        return frozenset({*fields, *cls.paging_parameters, api_settings.URL_FORMAT_OVERRIDE or "format"})

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, ValidationError):
            detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
            return Response({"errors": detail}, status=400)
        if isinstance(exc, OperationalError) and exc.args:
            if exc.args[0] == STATEMENT_TIMED_OUT:
                return unavailable(TOO_SLOW)
            if exc.args[0] in DATABASE_UNREACHABLE:
                return unavailable(UNREACHABLE)
        return super().handle_exception(exc)

    def query(self, request: Request) -> dict[str, Any]:
        assert self.query_serializer is not None
        parsed = self.query_serializer(data=request.query_params)
        parsed.is_valid(raise_exception=True)
        return dict(parsed.validated_data)


def _conditional(request: Request, etag: str) -> HttpResponseNotModified | None:
    if not etag_matches(request.headers.get("If-None-Match", ""), etag):
        return None
    response = HttpResponseNotModified()
    _cache_headers(response, etag)
    return response


def _cache_headers(response: Any, etag: str) -> Any:
    response["ETag"] = etag
    response["Cache-Control"] = CACHE_CONTROL
    patch_vary_headers(response, ["Accept"])  # JSON and the browsable page share the URL
    return response


def _content_etag(data: Any) -> str:
    digest = hashlib.blake2b(json.dumps(data, sort_keys=True).encode(), digest_size=12).hexdigest()
    return f'W/"{digest}"'


def content_tagged(request: Request, data: Any, tagged: Any = None) -> Any:
    """`data` answered with its content as the ETag (or `tagged`'s, the part of it that names
    its version), or 304 when the client holds it."""
    etag = _content_etag(data if tagged is None else tagged)
    return _conditional(request, etag) or _cache_headers(Response(data), etag)


class ResultsView(PublicReadView):
    """An answer computed from the tallies, tagged with the results version."""

    def get(self, request: Request) -> Any:
        params = self.query(request)
        if params.get("source") == api.SOURCE_ACTAS:
            # The version counts votes only: an answer from the actas is tagged by its content.
            return content_tagged(request, self.answer(request, params))
        # The version is read before the answer: at worst the answer is newer than its tag,
        # and the next poll fetches it again; a stale answer is never tagged as current.
        etag = f'W/"{selectors.results_version()}"'
        not_modified = _conditional(request, etag)
        if not_modified is not None:
            return not_modified
        return _cache_headers(Response(self.answer(request, params)), etag)

    def answer(self, request: Request, params: dict[str, Any]) -> Any:
        raise NotImplementedError


@extend_schema_view(
    get=extend_schema(
        parameters=[api.TopDepartamentosQuery],
        responses={200: api.TopDepartamentosAnswer, 400: ERRORS},
        summary="Departamentos by votes on a papeleta",
    )
)
class TopDepartamentosView(ResultsView):
    query_serializer = api.TopDepartamentosQuery

    def answer(self, request: Request, params: dict[str, Any]) -> dict[str, Any]:
        source = acta_results if params["source"] == api.SOURCE_ACTAS else selectors
        top = source.top_departamentos(papeleta=params["papeleta"], limit=params["limit"])
        return {
            "papeleta": params["papeleta"],
            "ballots": ballots_answer(top.ballots),
            "results": [
                {"departamento": r.departamento, "votes": r.votes, "ballots": ballots_answer(r.ballots)}
                for r in top.results
            ],
        }


@extend_schema_view(
    get=extend_schema(
        parameters=[api.PartidosQuery],
        responses={200: api.PartidosAnswer, 400: ERRORS},
        summary="Each partido's votes and percentage in a departamento or municipio",
    )
)
class PartidosView(ResultsView):
    query_serializer = api.PartidosQuery

    def answer(self, request: Request, params: dict[str, Any]) -> dict[str, Any]:
        source = acta_results if params["source"] == api.SOURCE_ACTAS else selectors
        shares = source.partido_shares(
            departamento=params["departamento"], municipio=params["municipio"], papeleta=params["papeleta"]
        )
        rows = shares.partidos
        index = catalogue_index()
        return {
            "departamento": index.departamento_names[params["departamento"]],
            "municipio": index.municipio_names[params["municipio"]] if params["municipio"] else None,
            "papeleta": params["papeleta"],
            "total": sum(r.votes for r in rows),
            "ballots": ballots_answer(shares.ballots),
            "results": [{"partido": r.partido, "votes": r.votes, "percent": r.percent} for r in rows],
        }


@extend_schema_view(
    get=extend_schema(
        parameters=[api.TopSedesQuery],
        responses={200: api.TopSedesAnswer, 400: ERRORS},
        summary="Sedes by votes",
    )
)
class TopSedesView(ResultsView):
    query_serializer = api.TopSedesQuery

    def answer(self, request: Request, params: dict[str, Any]) -> dict[str, Any]:
        source = acta_results if params["source"] == api.SOURCE_ACTAS else selectors
        rows = source.top_sedes(limit=params["limit"], papeleta=params["papeleta"])
        return {
            "papeleta": params["papeleta"],
            "ballots": ballots_answer(source.ballots_cast(papeleta=params["papeleta"])),
            "results": [
                {"departamento": r.departamento, "municipio": r.municipio, "sede": r.sede, "votes": r.votes}
                for r in rows
            ],
        }


@extend_schema_view(
    get=extend_schema(
        parameters=[api.SummaryQuery],
        responses={200: api.SummaryAnswer, 400: ERRORS},
        summary="Totals, and the two routes side by side",
    )
)
class SummaryView(ResultsView):
    query_serializer = api.SummaryQuery

    def answer(self, request: Request, params: dict[str, Any]) -> dict[str, Any]:
        source = acta_results if params["source"] == api.SOURCE_ACTAS else selectors
        summary = source.results_summary()
        return {
            "total": summary.total,
            "ballots": ballots_answer(summary.ballots),
            "by_route": {
                route: {"votes": r.votes, "latency_ms": {"p50": r.p50_ms, "p95": r.p95_ms}}
                for route, r in summary.by_route.items()
            },
            "by_papeleta": summary.by_papeleta,
            "as_of": summary.as_of.isoformat(),
        }


class VotesPagination(CursorPagination):
    ordering = "-id"  # newest first; the id is unique, so a cursor is one index position
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any] | None:
        page = super().paginate_queryset(queryset, request, view)
        # Links from the parameters the view reads, sorted: the same answer for every spelling
        # of one query, as the microcache keeps it (an unknown parameter changes nothing).
        known = view.query_parameters() if view is not None else frozenset()
        kept = [(name, value) for name in sorted(known) for value in request.query_params.getlist(name)]
        self.base_url = request.build_absolute_uri(request.path) + ("?" + urlencode(kept) if kept else "")
        return page

    def get_page_size(self, request: Request) -> int:
        """DRF ignores a page_size that is not a positive integer; the schema says integer, so refuse it."""
        raw = request.query_params.get(self.page_size_query_param, "")
        if raw == "":  # blank counts as absent, as for every optional parameter
            return self.page_size
        digits = raw.lstrip("0")
        if not (raw.isascii() and raw.isdigit() and digits):
            raise ValidationError({self.page_size_query_param: ["A positive integer is required."]})
        return self.max_page_size if len(digits) > 6 else min(int(digits), self.max_page_size)

    def decode_cursor(self, request: Request) -> Any:
        try:
            cursor = super().decode_cursor(request)
        except Exception as exc:  # DRF answers 404 for a bad cursor; it is a bad parameter
            raise ValidationError({"cursor": ["Invalid cursor."]}) from exc
        if cursor is not None and cursor.position is not None and not str(cursor.position).isdigit():
            raise ValidationError({"cursor": ["Invalid cursor."]})
        return cursor


@extend_schema_view(
    get=extend_schema(
        responses={200: api.VoteSerializer(many=True), 400: ERRORS},
        summary="Every stored vote, newest first, filtered",
    )
)
class VoteListView(ResultsView):
    filterset_class = VoteFilter
    # Named for drf-spectacular, which lists the FilterSet's fields as the query parameters and
    # takes their model from `queryset`; the votes themselves come from selectors.votes_filtered.
    filter_backends = [DjangoFilterBackend]
    queryset = Vote.objects.none()
    pagination_class = VotesPagination
    paging_parameters = (VotesPagination.cursor_query_param, VotesPagination.page_size_query_param)

    @classmethod
    def query_parameters(cls) -> frozenset[str]:
        return super().query_parameters() | frozenset(cls.filterset_class.base_filters)

    def query(self, request: Request) -> dict[str, Any]:
        filters = self.filterset_class(request.query_params, queryset=self.queryset)
        if not filters.is_valid():
            raise translate_validation(filters.errors)
        return dict(filters.form.cleaned_data)

    def answer(self, request: Request, params: dict[str, Any]) -> dict[str, Any]:
        votes = selectors.votes_filtered(**params)
        paginator = self.paginator
        page = paginator.paginate_queryset(votes, request, view=self)
        return {
            "next": paginator.get_next_link(),
            "previous": paginator.get_previous_link(),
            "results": api.VoteSerializer(page, many=True).data,
        }

    @property
    def paginator(self) -> VotesPagination:
        if not hasattr(self, "_paginator"):
            self._paginator = self.pagination_class()
        return self._paginator


@extend_schema_view(
    get=extend_schema(
        parameters=[api.LatestQuery],
        responses={
            200: api.LatestVotesAnswer,
            400: ERRORS,
            503: OpenApiResponse(description="Redis is down"),
        },
        summary="The latest stored votes, newest first",
    )
)
class LatestVotesView(PublicReadView):
    """The newest stored votes, from the Redis list; tagged by the list's own content."""

    query_serializer = api.LatestQuery

    def get(self, request: Request) -> Any:
        params = self.query(request)
        try:
            latest = live.latest_votes(limit=params["limit"])
        except redis.RedisError:
            return unavailable("The latest-votes list (Redis) is unavailable.")
        etag = _content_etag(latest)
        return _conditional(request, etag) or _cache_headers(Response({"results": latest}), etag)


@extend_schema_view(
    get=extend_schema(
        responses={200: api.CatalogueAnswer}, summary="The catalogue the votes are checked against"
    )
)
class CatalogueView(PublicReadView):
    """Departamentos with their municipios, papeletas and partidos: what the filters offer."""

    def get(self, request: Request) -> Any:
        data = {
            "departamentos": [
                {
                    "code": dep.code,
                    "nombre": dep.nombre,
                    "municipios": [{"code": m.code, "nombre": m.nombre} for m in dep.municipios.all()],
                }
                for dep in Departamento.objects.prefetch_related("municipios")
            ],
            "papeletas": [
                {"code": p.code, "color": p.color, "nombre": p.nombre}
                for p in Papeleta.objects.order_by("code")
            ],
            "partidos": [
                {"sigla": p.sigla, "nombre": p.nombre, "kind": p.kind} for p in Partido.objects.all()
            ],
        }
        etag = _content_etag(data)
        response = _conditional(request, etag) or _cache_headers(Response(data), etag)
        response["Cache-Control"] = "public, max-age=60"  # changes only when an operator edits it
        return response


@extend_schema_view(get=extend_schema(exclude=True))
class ApiRootView(PublicReadView):
    def get(self, request: Request) -> Response:
        names = [
            "api-catalogue",
            "api-mesas",
            "api-votes",
            "api-votes-latest",
            "api-top-departamentos",
            "api-partidos",
            "api-top-sedes",
            "api-summary",
            "api-progress",
            "api-area",
            "api-actas",
            "api-snapshots",
            "api-snapshots-latest",
            "api-snapshots-timeline",
            "api-schema",
            "api-docs",
        ]
        return Response({name.removeprefix("api-"): reverse(name, request=request) for name in names})
