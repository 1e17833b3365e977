import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CastStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CAST_STATUS_UNSPECIFIED: _ClassVar[CastStatus]
    CAST_STATUS_STORED: _ClassVar[CastStatus]
    CAST_STATUS_DUPLICATE: _ClassVar[CastStatus]
CAST_STATUS_UNSPECIFIED: CastStatus
CAST_STATUS_STORED: CastStatus
CAST_STATUS_DUPLICATE: CastStatus

class Vote(_message.Message):
    __slots__ = ("vote_id", "sede", "municipio", "departamento", "papeleta", "partido", "mesa")
    VOTE_ID_FIELD_NUMBER: _ClassVar[int]
    SEDE_FIELD_NUMBER: _ClassVar[int]
    MUNICIPIO_FIELD_NUMBER: _ClassVar[int]
    DEPARTAMENTO_FIELD_NUMBER: _ClassVar[int]
    PAPELETA_FIELD_NUMBER: _ClassVar[int]
    PARTIDO_FIELD_NUMBER: _ClassVar[int]
    MESA_FIELD_NUMBER: _ClassVar[int]
    vote_id: str
    sede: str
    municipio: str
    departamento: str
    papeleta: str
    partido: str
    mesa: int
    def __init__(self, vote_id: _Optional[str] = ..., sede: _Optional[str] = ..., municipio: _Optional[str] = ..., departamento: _Optional[str] = ..., papeleta: _Optional[str] = ..., partido: _Optional[str] = ..., mesa: _Optional[int] = ...) -> None: ...

class CastVoteRequest(_message.Message):
    __slots__ = ("vote", "received_at", "credential")
    VOTE_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_AT_FIELD_NUMBER: _ClassVar[int]
    CREDENTIAL_FIELD_NUMBER: _ClassVar[int]
    vote: Vote
    received_at: _timestamp_pb2.Timestamp
    credential: str
    def __init__(self, vote: _Optional[_Union[Vote, _Mapping]] = ..., received_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., credential: _Optional[str] = ...) -> None: ...

class CastVoteResponse(_message.Message):
    __slots__ = ("status", "vote")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    VOTE_FIELD_NUMBER: _ClassVar[int]
    status: CastStatus
    vote: Vote
    def __init__(self, status: _Optional[_Union[CastStatus, str]] = ..., vote: _Optional[_Union[Vote, _Mapping]] = ...) -> None: ...

class FieldError(_message.Message):
    __slots__ = ("field", "message")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    field: str
    message: str
    def __init__(self, field: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class RejectedVote(_message.Message):
    __slots__ = ("index", "vote_id", "reason", "errors", "retry_after_seconds")
    class Reason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        REASON_UNSPECIFIED: _ClassVar[RejectedVote.Reason]
        REASON_INVALID: _ClassVar[RejectedVote.Reason]
        REASON_CONFLICT: _ClassVar[RejectedVote.Reason]
        REASON_FORBIDDEN: _ClassVar[RejectedVote.Reason]
        REASON_THROTTLED: _ClassVar[RejectedVote.Reason]
        REASON_UNAUTHENTICATED: _ClassVar[RejectedVote.Reason]
    REASON_UNSPECIFIED: RejectedVote.Reason
    REASON_INVALID: RejectedVote.Reason
    REASON_CONFLICT: RejectedVote.Reason
    REASON_FORBIDDEN: RejectedVote.Reason
    REASON_THROTTLED: RejectedVote.Reason
    REASON_UNAUTHENTICATED: RejectedVote.Reason
    INDEX_FIELD_NUMBER: _ClassVar[int]
    VOTE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    RETRY_AFTER_SECONDS_FIELD_NUMBER: _ClassVar[int]
    index: int
    vote_id: str
    reason: RejectedVote.Reason
    errors: _containers.RepeatedCompositeFieldContainer[FieldError]
    retry_after_seconds: int
    def __init__(self, index: _Optional[int] = ..., vote_id: _Optional[str] = ..., reason: _Optional[_Union[RejectedVote.Reason, str]] = ..., errors: _Optional[_Iterable[_Union[FieldError, _Mapping]]] = ..., retry_after_seconds: _Optional[int] = ...) -> None: ...

class CastVotesResponse(_message.Message):
    __slots__ = ("received", "stored", "duplicate", "rejected")
    RECEIVED_FIELD_NUMBER: _ClassVar[int]
    STORED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    received: int
    stored: int
    duplicate: int
    rejected: _containers.RepeatedCompositeFieldContainer[RejectedVote]
    def __init__(self, received: _Optional[int] = ..., stored: _Optional[int] = ..., duplicate: _Optional[int] = ..., rejected: _Optional[_Iterable[_Union[RejectedVote, _Mapping]]] = ...) -> None: ...

class CastVoteBatchRequest(_message.Message):
    __slots__ = ("requests",)
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    requests: _containers.RepeatedCompositeFieldContainer[CastVoteRequest]
    def __init__(self, requests: _Optional[_Iterable[_Union[CastVoteRequest, _Mapping]]] = ...) -> None: ...

class CastVoteResult(_message.Message):
    __slots__ = ("status", "vote", "rejected")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    VOTE_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    status: CastStatus
    vote: Vote
    rejected: RejectedVote
    def __init__(self, status: _Optional[_Union[CastStatus, str]] = ..., vote: _Optional[_Union[Vote, _Mapping]] = ..., rejected: _Optional[_Union[RejectedVote, _Mapping]] = ...) -> None: ...

class CastVoteBatchResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[CastVoteResult]
    def __init__(self, results: _Optional[_Iterable[_Union[CastVoteResult, _Mapping]]] = ...) -> None: ...
