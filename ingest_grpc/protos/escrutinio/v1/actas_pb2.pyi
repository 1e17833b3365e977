import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ActaOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACTA_OUTCOME_UNSPECIFIED: _ClassVar[ActaOutcome]
    ACTA_OUTCOME_STORED: _ClassVar[ActaOutcome]
    ACTA_OUTCOME_DUPLICATE: _ClassVar[ActaOutcome]

class ActaStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACTA_STATUS_UNSPECIFIED: _ClassVar[ActaStatus]
    ACTA_STATUS_PENDING: _ClassVar[ActaStatus]
    ACTA_STATUS_COUNTED: _ClassVar[ActaStatus]
    ACTA_STATUS_INCONSISTENT: _ClassVar[ActaStatus]
    ACTA_STATUS_IN_REVIEW: _ClassVar[ActaStatus]
ACTA_OUTCOME_UNSPECIFIED: ActaOutcome
ACTA_OUTCOME_STORED: ActaOutcome
ACTA_OUTCOME_DUPLICATE: ActaOutcome
ACTA_STATUS_UNSPECIFIED: ActaStatus
ACTA_STATUS_PENDING: ActaStatus
ACTA_STATUS_COUNTED: ActaStatus
ACTA_STATUS_INCONSISTENT: ActaStatus
ACTA_STATUS_IN_REVIEW: ActaStatus

class ActaVotes(_message.Message):
    __slots__ = ("by_partido",)
    class ByPartidoEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    BY_PARTIDO_FIELD_NUMBER: _ClassVar[int]
    by_partido: _containers.ScalarMap[str, int]
    def __init__(self, by_partido: _Optional[_Mapping[str, int]] = ...) -> None: ...

class Acta(_message.Message):
    __slots__ = ("acta_id", "mesa", "departamento", "municipio", "sede", "papeleta", "votes", "nulos", "blancos", "invalidos", "impugnados", "total_valid", "total_cast", "voters", "ballots_received", "ballots_unused", "image_sha256", "entered_by", "corrects", "reason")
    ACTA_ID_FIELD_NUMBER: _ClassVar[int]
    MESA_FIELD_NUMBER: _ClassVar[int]
    DEPARTAMENTO_FIELD_NUMBER: _ClassVar[int]
    MUNICIPIO_FIELD_NUMBER: _ClassVar[int]
    SEDE_FIELD_NUMBER: _ClassVar[int]
    PAPELETA_FIELD_NUMBER: _ClassVar[int]
    VOTES_FIELD_NUMBER: _ClassVar[int]
    NULOS_FIELD_NUMBER: _ClassVar[int]
    BLANCOS_FIELD_NUMBER: _ClassVar[int]
    INVALIDOS_FIELD_NUMBER: _ClassVar[int]
    IMPUGNADOS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_VALID_FIELD_NUMBER: _ClassVar[int]
    TOTAL_CAST_FIELD_NUMBER: _ClassVar[int]
    VOTERS_FIELD_NUMBER: _ClassVar[int]
    BALLOTS_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    BALLOTS_UNUSED_FIELD_NUMBER: _ClassVar[int]
    IMAGE_SHA256_FIELD_NUMBER: _ClassVar[int]
    ENTERED_BY_FIELD_NUMBER: _ClassVar[int]
    CORRECTS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    acta_id: str
    mesa: int
    departamento: str
    municipio: str
    sede: str
    papeleta: str
    votes: ActaVotes
    nulos: int
    blancos: int
    invalidos: int
    impugnados: int
    total_valid: int
    total_cast: int
    voters: int
    ballots_received: int
    ballots_unused: int
    image_sha256: str
    entered_by: str
    corrects: bool
    reason: str
    def __init__(self, acta_id: _Optional[str] = ..., mesa: _Optional[int] = ..., departamento: _Optional[str] = ..., municipio: _Optional[str] = ..., sede: _Optional[str] = ..., papeleta: _Optional[str] = ..., votes: _Optional[_Union[ActaVotes, _Mapping]] = ..., nulos: _Optional[int] = ..., blancos: _Optional[int] = ..., invalidos: _Optional[int] = ..., impugnados: _Optional[int] = ..., total_valid: _Optional[int] = ..., total_cast: _Optional[int] = ..., voters: _Optional[int] = ..., ballots_received: _Optional[int] = ..., ballots_unused: _Optional[int] = ..., image_sha256: _Optional[str] = ..., entered_by: _Optional[str] = ..., corrects: _Optional[bool] = ..., reason: _Optional[str] = ...) -> None: ...

class SubmitActaRequest(_message.Message):
    __slots__ = ("acta", "received_at", "credential")
    ACTA_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_AT_FIELD_NUMBER: _ClassVar[int]
    CREDENTIAL_FIELD_NUMBER: _ClassVar[int]
    acta: Acta
    received_at: _timestamp_pb2.Timestamp
    credential: str
    def __init__(self, acta: _Optional[_Union[Acta, _Mapping]] = ..., received_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., credential: _Optional[str] = ...) -> None: ...

class SubmitActaResponse(_message.Message):
    __slots__ = ("acta_id", "status", "failed_rules", "outcome")
    ACTA_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    FAILED_RULES_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    acta_id: str
    status: ActaStatus
    failed_rules: _containers.RepeatedScalarFieldContainer[str]
    outcome: ActaOutcome
    def __init__(self, acta_id: _Optional[str] = ..., status: _Optional[_Union[ActaStatus, str]] = ..., failed_rules: _Optional[_Iterable[str]] = ..., outcome: _Optional[_Union[ActaOutcome, str]] = ...) -> None: ...
