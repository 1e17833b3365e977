"""The ActaService servicer: SubmitActa, one acta per call, recorded through the domain.

Thin, as VoteServicer: the call's acta goes through the same admission as the publisher's
(election.admission: token, `acta_validate`, the mesa within the token's sede unless it is a
digitador's, the sede's rate) and is stored by `actas_record` (election.actas.recording). The
calls that arrive while a transaction commits go into the next one together: a group
committer of its own (election.writer.group_committer), beside the votes', so an acta never
waits behind a burst of votes and a vote never behind an acta's tallies. At most
GRPC_ACTAS_MAX_PENDING actas wait for it; past that, RESOURCE_EXHAUSTED with `retry-after`
and `escrutinio-refusal: overloaded` (the gateway: 503).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import grpc
from django.conf import settings
from django.db import DatabaseError, connection

from election.actas.recording import acta_conflict_message, actas_record
from election.actas.types import ActaInvalid, ActaOutcome, ActaRecordResult, ValidatedActa
from election.admission.actas import acta_admit
from election.admission.rate_limit import Throttled
from election.admission.tokens import AccessDenied
from election.catalogue.index import CatalogueError
from election.ingest.async_batcher import Overloaded
from election.models import Route
from election.votes.types import StorageUnavailable
from election.writer.db_session import database_session
from election.writer.group_committer import GroupCommitter
from ingest_grpc import acta_contract, contract
from ingest_grpc.calls import CallsInFlight
from ingest_grpc.config import UNAVAILABLE_MESSAGE
from ingest_grpc.protos.escrutinio.v1 import actas_pb2, actas_pb2_grpc
from ingest_grpc.servicer import (
    abort_invalid,
    abort_overloaded,
    abort_refused,
    bearer_token,
    from_gateway,
)

logger = logging.getLogger(__name__)

ROUTE = Route.GRPC
ACTA_UNAVAILABLE = UNAVAILABLE_MESSAGE.replace("vote_id", "acta_id")

# Per acta: how it was recorded, or why it was refused.
ActaRefusal = ActaInvalid | AccessDenied | Throttled
ActaVerdict = ActaRecordResult | ActaRefusal


@dataclass(slots=True)
class ActaSubmission:
    """An acta as received; `admission` is set once, by the committer thread (see GroupCommitter)."""

    data: dict[str, Any]
    received_at: datetime
    token: str | None
    admission: ValidatedActa | ActaRefusal | None = None


def submissions_admit(submissions: Sequence[ActaSubmission]) -> Sequence[ActaSubmission]:
    """Admit each acta once (token, fields, mesa, rate); a committed-again group is not."""
    for submission in submissions:
        if submission.admission is None:
            try:
                submission.admission = acta_admit(
                    submission.data, token=submission.token, received_at=submission.received_at
                )
            except (ActaInvalid, AccessDenied, Throttled) as refused:
                submission.admission = refused
            except (DatabaseError, CatalogueError) as exc:  # never read a good copy of the catalogue
                connection.close()
                raise StorageUnavailable(f"catalogue unavailable: {exc}") from exc
    return submissions


def submissions_record(submissions: Sequence[ActaSubmission]) -> list[ActaVerdict]:
    """The admitted actas in one transaction; verdicts in submission order. Raises
    StorageUnavailable when the database cannot take them (nothing stored)."""
    with database_session():
        admitted = [s.admission for s in submissions if isinstance(s.admission, ValidatedActa)]
        recorded = iter(actas_record(actas=admitted, route=ROUTE) if admitted else ())
        verdicts: list[ActaVerdict] = []
        for submission in submissions:
            admission = submission.admission
            assert admission is not None, "record admitted submissions only"
            verdicts.append(next(recorded) if isinstance(admission, ValidatedActa) else admission)
        return verdicts


class ActaServicer(actas_pb2_grpc.ActaServiceServicer):
    """Translates SubmitActa calls to the committer and verdicts to answers."""

    def __init__(self, max_pending: int | None = None) -> None:
        self._committer: GroupCommitter[ActaSubmission, ActaVerdict] = GroupCommitter(
            submissions_record,
            admit=submissions_admit,
            route=f"{ROUTE.value}-actas",
            max_items=settings.GRPC_MAX_BATCH,
            max_pending=settings.GRPC_ACTAS_MAX_PENDING if max_pending is None else max_pending,
        )
        self._calls = CallsInFlight()

    async def wait_idle(self) -> None:
        """Return once no acta call is in flight (a graceful stop)."""
        await self._calls.wait_idle()

    def close(self) -> None:
        """After the last call: the committer's work finished, its connection closed."""
        self._committer.stop()

    async def SubmitActa(
        self,
        request: actas_pb2.SubmitActaRequest | contract.MalformedRequest,
        context: grpc.aio.ServicerContext,
    ) -> actas_pb2.SubmitActaResponse:
        with self._calls.call():
            return await self._submit(request, context)

    async def _submit(
        self,
        request: actas_pb2.SubmitActaRequest | contract.MalformedRequest,
        context: grpc.aio.ServicerContext,
    ) -> actas_pb2.SubmitActaResponse:
        unreadable = contract.request_errors(request)  # type: ignore[arg-type]  # checks only received_at
        if unreadable:
            await abort_invalid(context, unreadable)
        assert isinstance(request, actas_pb2.SubmitActaRequest)
        relayed = from_gateway(context)
        received_at = (
            request.received_at.ToDatetime(tzinfo=UTC)
            if relayed and request.HasField("received_at")
            else datetime.now(UTC)
        )
        token = request.credential or bearer_token(context)
        submission = ActaSubmission(acta_contract.acta_data(request.acta), received_at, token)
        try:
            [verdict] = await self._committer.submit_async([submission])
        except StorageUnavailable as exc:
            logger.warning("acta not stored: database unavailable", extra={"error": str(exc)})
            await context.abort(grpc.StatusCode.UNAVAILABLE, ACTA_UNAVAILABLE)
        except Overloaded as exc:
            await abort_overloaded(context, exc)
        if isinstance(verdict, AccessDenied | Throttled):
            await abort_refused(context, verdict)
        if isinstance(verdict, ActaInvalid):
            await abort_invalid(context, verdict.errors)
        assert isinstance(verdict, ActaRecordResult)  # every refusal aborted the call above
        if verdict.outcome is ActaOutcome.CONFLICT:
            await context.abort(grpc.StatusCode.ALREADY_EXISTS, acta_conflict_message(verdict.acta_id))
        return actas_pb2.SubmitActaResponse(
            acta_id=str(verdict.acta_id),
            status=acta_contract.STATUSES[verdict.status.value],
            failed_rules=list(verdict.failed_rules),
            outcome=acta_contract.OUTCOMES[verdict.outcome.value],
        )
