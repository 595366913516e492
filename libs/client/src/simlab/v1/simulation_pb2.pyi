import datetime

from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ParameterType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PARAMETER_TYPE_UNSPECIFIED: _ClassVar[ParameterType]
    PARAMETER_TYPE_FLOAT: _ClassVar[ParameterType]
    PARAMETER_TYPE_INT: _ClassVar[ParameterType]
    PARAMETER_TYPE_CHOICE: _ClassVar[ParameterType]
    PARAMETER_TYPE_BOOL: _ClassVar[ParameterType]

class ModelKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MODEL_KIND_UNSPECIFIED: _ClassVar[ModelKind]
    MODEL_KIND_BLOCKS: _ClassVar[ModelKind]
    MODEL_KIND_SCRIPT: _ClassVar[ModelKind]

class JobState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_STATE_UNSPECIFIED: _ClassVar[JobState]
    JOB_STATE_QUEUED: _ClassVar[JobState]
    JOB_STATE_LAUNCHING: _ClassVar[JobState]
    JOB_STATE_RUNNING: _ClassVar[JobState]
    JOB_STATE_CANCELLING: _ClassVar[JobState]
    JOB_STATE_SUCCEEDED: _ClassVar[JobState]
    JOB_STATE_FAILED: _ClassVar[JobState]
    JOB_STATE_CANCELLED: _ClassVar[JobState]

class StopReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STOP_REASON_UNSPECIFIED: _ClassVar[StopReason]
    STOP_REASON_PRECISION_REACHED: _ClassVar[StopReason]
    STOP_REASON_BUDGET_EXHAUSTED: _ClassVar[StopReason]

class JobKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_KIND_UNSPECIFIED: _ClassVar[JobKind]
    JOB_KIND_RUN: _ClassVar[JobKind]
    JOB_KIND_REGISTRATION: _ClassVar[JobKind]

class EventKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVENT_KIND_UNSPECIFIED: _ClassVar[EventKind]
    EVENT_KIND_STATE: _ClassVar[EventKind]
    EVENT_KIND_PROGRESS: _ClassVar[EventKind]
    EVENT_KIND_SNAPSHOT: _ClassVar[EventKind]

class StudyDesign(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STUDY_DESIGN_UNSPECIFIED: _ClassVar[StudyDesign]
    STUDY_DESIGN_GRID: _ClassVar[StudyDesign]
    STUDY_DESIGN_SOBOL: _ClassVar[StudyDesign]
    STUDY_DESIGN_RANDOM: _ClassVar[StudyDesign]

class StudyState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STUDY_STATE_UNSPECIFIED: _ClassVar[StudyState]
    STUDY_STATE_QUEUED: _ClassVar[StudyState]
    STUDY_STATE_RUNNING: _ClassVar[StudyState]
    STUDY_STATE_SUCCEEDED: _ClassVar[StudyState]
    STUDY_STATE_FAILED: _ClassVar[StudyState]
    STUDY_STATE_CANCELLED: _ClassVar[StudyState]
PARAMETER_TYPE_UNSPECIFIED: ParameterType
PARAMETER_TYPE_FLOAT: ParameterType
PARAMETER_TYPE_INT: ParameterType
PARAMETER_TYPE_CHOICE: ParameterType
PARAMETER_TYPE_BOOL: ParameterType
MODEL_KIND_UNSPECIFIED: ModelKind
MODEL_KIND_BLOCKS: ModelKind
MODEL_KIND_SCRIPT: ModelKind
JOB_STATE_UNSPECIFIED: JobState
JOB_STATE_QUEUED: JobState
JOB_STATE_LAUNCHING: JobState
JOB_STATE_RUNNING: JobState
JOB_STATE_CANCELLING: JobState
JOB_STATE_SUCCEEDED: JobState
JOB_STATE_FAILED: JobState
JOB_STATE_CANCELLED: JobState
STOP_REASON_UNSPECIFIED: StopReason
STOP_REASON_PRECISION_REACHED: StopReason
STOP_REASON_BUDGET_EXHAUSTED: StopReason
JOB_KIND_UNSPECIFIED: JobKind
JOB_KIND_RUN: JobKind
JOB_KIND_REGISTRATION: JobKind
EVENT_KIND_UNSPECIFIED: EventKind
EVENT_KIND_STATE: EventKind
EVENT_KIND_PROGRESS: EventKind
EVENT_KIND_SNAPSHOT: EventKind
STUDY_DESIGN_UNSPECIFIED: StudyDesign
STUDY_DESIGN_GRID: StudyDesign
STUDY_DESIGN_SOBOL: StudyDesign
STUDY_DESIGN_RANDOM: StudyDesign
STUDY_STATE_UNSPECIFIED: StudyState
STUDY_STATE_QUEUED: StudyState
STUDY_STATE_RUNNING: StudyState
STUDY_STATE_SUCCEEDED: StudyState
STUDY_STATE_FAILED: StudyState
STUDY_STATE_CANCELLED: StudyState

class Parameter(_message.Message):
    __slots__ = ("name", "label", "type", "default", "minimum", "maximum", "exclusive_minimum", "exclusive_maximum", "unit", "help", "choices", "is_sample_count")
    NAME_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_FIELD_NUMBER: _ClassVar[int]
    MINIMUM_FIELD_NUMBER: _ClassVar[int]
    MAXIMUM_FIELD_NUMBER: _ClassVar[int]
    EXCLUSIVE_MINIMUM_FIELD_NUMBER: _ClassVar[int]
    EXCLUSIVE_MAXIMUM_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    HELP_FIELD_NUMBER: _ClassVar[int]
    CHOICES_FIELD_NUMBER: _ClassVar[int]
    IS_SAMPLE_COUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    label: str
    type: ParameterType
    default: _struct_pb2.Value
    minimum: float
    maximum: float
    exclusive_minimum: bool
    exclusive_maximum: bool
    unit: str
    help: str
    choices: _containers.RepeatedScalarFieldContainer[str]
    is_sample_count: bool
    def __init__(self, name: _Optional[str] = ..., label: _Optional[str] = ..., type: _Optional[_Union[ParameterType, str]] = ..., default: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., minimum: _Optional[float] = ..., maximum: _Optional[float] = ..., exclusive_minimum: _Optional[bool] = ..., exclusive_maximum: _Optional[bool] = ..., unit: _Optional[str] = ..., help: _Optional[str] = ..., choices: _Optional[_Iterable[str]] = ..., is_sample_count: _Optional[bool] = ...) -> None: ...

class Output(_message.Message):
    __slots__ = ("name", "label", "unit", "help")
    NAME_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    HELP_FIELD_NUMBER: _ClassVar[int]
    name: str
    label: str
    unit: str
    help: str
    def __init__(self, name: _Optional[str] = ..., label: _Optional[str] = ..., unit: _Optional[str] = ..., help: _Optional[str] = ...) -> None: ...

class Model(_message.Message):
    __slots__ = ("name", "title", "description", "parameters", "outputs", "primary_output", "version", "owner", "public", "builtin", "kind", "code_sha256", "code_size", "entry", "files", "imports", "warnings", "reproducible", "runtime", "created_at", "block_size", "reference_output")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    PRIMARY_OUTPUT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_FIELD_NUMBER: _ClassVar[int]
    BUILTIN_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CODE_SHA256_FIELD_NUMBER: _ClassVar[int]
    CODE_SIZE_FIELD_NUMBER: _ClassVar[int]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    IMPORTS_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    REPRODUCIBLE_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    BLOCK_SIZE_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_OUTPUT_FIELD_NUMBER: _ClassVar[int]
    name: str
    title: str
    description: str
    parameters: _containers.RepeatedCompositeFieldContainer[Parameter]
    outputs: _containers.RepeatedCompositeFieldContainer[Output]
    primary_output: str
    version: int
    owner: str
    public: bool
    builtin: bool
    kind: ModelKind
    code_sha256: str
    code_size: int
    entry: str
    files: _containers.RepeatedScalarFieldContainer[str]
    imports: _containers.RepeatedScalarFieldContainer[str]
    warnings: _containers.RepeatedScalarFieldContainer[str]
    reproducible: bool
    runtime: str
    created_at: _timestamp_pb2.Timestamp
    block_size: int
    reference_output: str
    def __init__(self, name: _Optional[str] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., parameters: _Optional[_Iterable[_Union[Parameter, _Mapping]]] = ..., outputs: _Optional[_Iterable[_Union[Output, _Mapping]]] = ..., primary_output: _Optional[str] = ..., version: _Optional[int] = ..., owner: _Optional[str] = ..., public: _Optional[bool] = ..., builtin: _Optional[bool] = ..., kind: _Optional[_Union[ModelKind, str]] = ..., code_sha256: _Optional[str] = ..., code_size: _Optional[int] = ..., entry: _Optional[str] = ..., files: _Optional[_Iterable[str]] = ..., imports: _Optional[_Iterable[str]] = ..., warnings: _Optional[_Iterable[str]] = ..., reproducible: _Optional[bool] = ..., runtime: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., block_size: _Optional[int] = ..., reference_output: _Optional[str] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetModelRequest(_message.Message):
    __slots__ = ("model",)
    MODEL_FIELD_NUMBER: _ClassVar[int]
    model: str
    def __init__(self, model: _Optional[str] = ...) -> None: ...

class ListModelVersionsRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListModelVersionsResponse(_message.Message):
    __slots__ = ("versions",)
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    versions: _containers.RepeatedCompositeFieldContainer[Model]
    def __init__(self, versions: _Optional[_Iterable[_Union[Model, _Mapping]]] = ...) -> None: ...

class BundleFile(_message.Message):
    __slots__ = ("path", "data", "executable")
    PATH_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    EXECUTABLE_FIELD_NUMBER: _ClassVar[int]
    path: str
    data: bytes
    executable: bool
    def __init__(self, path: _Optional[str] = ..., data: _Optional[bytes] = ..., executable: _Optional[bool] = ...) -> None: ...

class PushModelRequest(_message.Message):
    __slots__ = ("name", "entry", "files", "sha256", "public")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_FIELD_NUMBER: _ClassVar[int]
    name: str
    entry: str
    files: _containers.RepeatedCompositeFieldContainer[BundleFile]
    sha256: str
    public: bool
    def __init__(self, name: _Optional[str] = ..., entry: _Optional[str] = ..., files: _Optional[_Iterable[_Union[BundleFile, _Mapping]]] = ..., sha256: _Optional[str] = ..., public: _Optional[bool] = ...) -> None: ...

class PushModelResponse(_message.Message):
    __slots__ = ("model", "created")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    model: Model
    created: bool
    def __init__(self, model: _Optional[_Union[Model, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ("models",)
    MODELS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[Model]
    def __init__(self, models: _Optional[_Iterable[_Union[Model, _Mapping]]] = ...) -> None: ...

class Progress(_message.Message):
    __slots__ = ("blocks_done", "blocks_total", "samples_done", "samples_total", "estimate", "stderr", "samples_to_target")
    BLOCKS_DONE_FIELD_NUMBER: _ClassVar[int]
    BLOCKS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_DONE_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_TOTAL_FIELD_NUMBER: _ClassVar[int]
    ESTIMATE_FIELD_NUMBER: _ClassVar[int]
    STDERR_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_TO_TARGET_FIELD_NUMBER: _ClassVar[int]
    blocks_done: int
    blocks_total: int
    samples_done: int
    samples_total: int
    estimate: float
    stderr: float
    samples_to_target: int
    def __init__(self, blocks_done: _Optional[int] = ..., blocks_total: _Optional[int] = ..., samples_done: _Optional[int] = ..., samples_total: _Optional[int] = ..., estimate: _Optional[float] = ..., stderr: _Optional[float] = ..., samples_to_target: _Optional[int] = ...) -> None: ...

class Precision(_message.Message):
    __slots__ = ("rel_tol", "abs_tol", "confidence", "min_blocks", "two_stage")
    REL_TOL_FIELD_NUMBER: _ClassVar[int]
    ABS_TOL_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    MIN_BLOCKS_FIELD_NUMBER: _ClassVar[int]
    TWO_STAGE_FIELD_NUMBER: _ClassVar[int]
    rel_tol: float
    abs_tol: float
    confidence: float
    min_blocks: int
    two_stage: bool
    def __init__(self, rel_tol: _Optional[float] = ..., abs_tol: _Optional[float] = ..., confidence: _Optional[float] = ..., min_blocks: _Optional[int] = ..., two_stage: _Optional[bool] = ...) -> None: ...

class StopInfo(_message.Message):
    __slots__ = ("reason", "first_block", "end_block", "samples_used", "half_width", "confidence", "blocks_discarded")
    REASON_FIELD_NUMBER: _ClassVar[int]
    FIRST_BLOCK_FIELD_NUMBER: _ClassVar[int]
    END_BLOCK_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_USED_FIELD_NUMBER: _ClassVar[int]
    HALF_WIDTH_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    BLOCKS_DISCARDED_FIELD_NUMBER: _ClassVar[int]
    reason: StopReason
    first_block: int
    end_block: int
    samples_used: int
    half_width: float
    confidence: float
    blocks_discarded: int
    def __init__(self, reason: _Optional[_Union[StopReason, str]] = ..., first_block: _Optional[int] = ..., end_block: _Optional[int] = ..., samples_used: _Optional[int] = ..., half_width: _Optional[float] = ..., confidence: _Optional[float] = ..., blocks_discarded: _Optional[int] = ...) -> None: ...

class StateChange(_message.Message):
    __slots__ = ("state", "at", "reason")
    STATE_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    state: JobState
    at: _timestamp_pb2.Timestamp
    reason: str
    def __init__(self, state: _Optional[_Union[JobState, str]] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class JobError(_message.Message):
    __slots__ = ("message", "traceback", "source", "log_tail")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TRACEBACK_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    LOG_TAIL_FIELD_NUMBER: _ClassVar[int]
    message: str
    traceback: str
    source: str
    log_tail: str
    def __init__(self, message: _Optional[str] = ..., traceback: _Optional[str] = ..., source: _Optional[str] = ..., log_tail: _Optional[str] = ...) -> None: ...

class Job(_message.Message):
    __slots__ = ("job_id", "owner", "model", "parameters", "seed", "shards", "request_id", "state", "seq", "created_at", "updated_at", "progress", "history", "summary", "error", "primary_output", "block_size", "model_version", "code_sha256", "runtime", "args", "kind", "precision", "stop", "cached_from", "extends", "study_id", "study_point")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    SHARDS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    PRIMARY_OUTPUT_FIELD_NUMBER: _ClassVar[int]
    BLOCK_SIZE_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    CODE_SHA256_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    PRECISION_FIELD_NUMBER: _ClassVar[int]
    STOP_FIELD_NUMBER: _ClassVar[int]
    CACHED_FROM_FIELD_NUMBER: _ClassVar[int]
    EXTENDS_FIELD_NUMBER: _ClassVar[int]
    STUDY_ID_FIELD_NUMBER: _ClassVar[int]
    STUDY_POINT_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    owner: str
    model: str
    parameters: _struct_pb2.Struct
    seed: int
    shards: int
    request_id: str
    state: JobState
    seq: int
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    progress: Progress
    history: _containers.RepeatedCompositeFieldContainer[StateChange]
    summary: _struct_pb2.Struct
    error: JobError
    primary_output: str
    block_size: int
    model_version: int
    code_sha256: str
    runtime: str
    args: _containers.RepeatedScalarFieldContainer[str]
    kind: JobKind
    precision: Precision
    stop: StopInfo
    cached_from: str
    extends: str
    study_id: str
    study_point: int
    def __init__(self, job_id: _Optional[str] = ..., owner: _Optional[str] = ..., model: _Optional[str] = ..., parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., seed: _Optional[int] = ..., shards: _Optional[int] = ..., request_id: _Optional[str] = ..., state: _Optional[_Union[JobState, str]] = ..., seq: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., progress: _Optional[_Union[Progress, _Mapping]] = ..., history: _Optional[_Iterable[_Union[StateChange, _Mapping]]] = ..., summary: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., error: _Optional[_Union[JobError, _Mapping]] = ..., primary_output: _Optional[str] = ..., block_size: _Optional[int] = ..., model_version: _Optional[int] = ..., code_sha256: _Optional[str] = ..., runtime: _Optional[str] = ..., args: _Optional[_Iterable[str]] = ..., kind: _Optional[_Union[JobKind, str]] = ..., precision: _Optional[_Union[Precision, _Mapping]] = ..., stop: _Optional[_Union[StopInfo, _Mapping]] = ..., cached_from: _Optional[str] = ..., extends: _Optional[str] = ..., study_id: _Optional[str] = ..., study_point: _Optional[int] = ...) -> None: ...

class SubmitJobRequest(_message.Message):
    __slots__ = ("model", "parameters", "seed", "shards", "request_id", "args", "precision", "no_cache")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    SHARDS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    PRECISION_FIELD_NUMBER: _ClassVar[int]
    NO_CACHE_FIELD_NUMBER: _ClassVar[int]
    model: str
    parameters: _struct_pb2.Struct
    seed: int
    shards: int
    request_id: str
    args: _containers.RepeatedScalarFieldContainer[str]
    precision: Precision
    no_cache: bool
    def __init__(self, model: _Optional[str] = ..., parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., seed: _Optional[int] = ..., shards: _Optional[int] = ..., request_id: _Optional[str] = ..., args: _Optional[_Iterable[str]] = ..., precision: _Optional[_Union[Precision, _Mapping]] = ..., no_cache: _Optional[bool] = ...) -> None: ...

class ExtendJobRequest(_message.Message):
    __slots__ = ("job_id", "samples", "precision", "shards", "request_id", "no_cache")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    PRECISION_FIELD_NUMBER: _ClassVar[int]
    SHARDS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    NO_CACHE_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    samples: int
    precision: Precision
    shards: int
    request_id: str
    no_cache: bool
    def __init__(self, job_id: _Optional[str] = ..., samples: _Optional[int] = ..., precision: _Optional[_Union[Precision, _Mapping]] = ..., shards: _Optional[int] = ..., request_id: _Optional[str] = ..., no_cache: _Optional[bool] = ...) -> None: ...

class SubmitJobResponse(_message.Message):
    __slots__ = ("job", "created")
    JOB_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    job: Job
    created: bool
    def __init__(self, job: _Optional[_Union[Job, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class GetJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class ListJobsRequest(_message.Message):
    __slots__ = ("model", "states", "page_size", "page_token", "job_id_prefix", "include_study_points")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_PREFIX_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_STUDY_POINTS_FIELD_NUMBER: _ClassVar[int]
    model: str
    states: _containers.RepeatedScalarFieldContainer[JobState]
    page_size: int
    page_token: str
    job_id_prefix: str
    include_study_points: bool
    def __init__(self, model: _Optional[str] = ..., states: _Optional[_Iterable[_Union[JobState, str]]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., job_id_prefix: _Optional[str] = ..., include_study_points: _Optional[bool] = ...) -> None: ...

class ListJobsResponse(_message.Message):
    __slots__ = ("jobs", "next_page_token")
    JOBS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[Job]
    next_page_token: str
    def __init__(self, jobs: _Optional[_Iterable[_Union[Job, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class WatchJobRequest(_message.Message):
    __slots__ = ("job_id", "after_seq")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_SEQ_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    after_seq: int
    def __init__(self, job_id: _Optional[str] = ..., after_seq: _Optional[int] = ...) -> None: ...

class JobEvent(_message.Message):
    __slots__ = ("event_id", "job_id", "seq", "kind", "job")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    job_id: str
    seq: int
    kind: EventKind
    job: Job
    def __init__(self, event_id: _Optional[str] = ..., job_id: _Optional[str] = ..., seq: _Optional[int] = ..., kind: _Optional[_Union[EventKind, str]] = ..., job: _Optional[_Union[Job, _Mapping]] = ...) -> None: ...

class CancelJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class ProgressPoint(_message.Message):
    __slots__ = ("seq", "samples_done", "estimate", "stderr", "at")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_DONE_FIELD_NUMBER: _ClassVar[int]
    ESTIMATE_FIELD_NUMBER: _ClassVar[int]
    STDERR_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    seq: int
    samples_done: int
    estimate: float
    stderr: float
    at: _timestamp_pb2.Timestamp
    def __init__(self, seq: _Optional[int] = ..., samples_done: _Optional[int] = ..., estimate: _Optional[float] = ..., stderr: _Optional[float] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetProgressHistoryRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class ProgressHistory(_message.Message):
    __slots__ = ("points",)
    POINTS_FIELD_NUMBER: _ClassVar[int]
    points: _containers.RepeatedCompositeFieldContainer[ProgressPoint]
    def __init__(self, points: _Optional[_Iterable[_Union[ProgressPoint, _Mapping]]] = ...) -> None: ...

class Preset(_message.Message):
    __slots__ = ("name", "model", "parameters", "seed", "shards", "updated_at")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    SHARDS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    name: str
    model: str
    parameters: _struct_pb2.Struct
    seed: int
    shards: int
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., model: _Optional[str] = ..., parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., seed: _Optional[int] = ..., shards: _Optional[int] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListPresetsRequest(_message.Message):
    __slots__ = ("model",)
    MODEL_FIELD_NUMBER: _ClassVar[int]
    model: str
    def __init__(self, model: _Optional[str] = ...) -> None: ...

class ListPresetsResponse(_message.Message):
    __slots__ = ("presets",)
    PRESETS_FIELD_NUMBER: _ClassVar[int]
    presets: _containers.RepeatedCompositeFieldContainer[Preset]
    def __init__(self, presets: _Optional[_Iterable[_Union[Preset, _Mapping]]] = ...) -> None: ...

class SavePresetRequest(_message.Message):
    __slots__ = ("preset",)
    PRESET_FIELD_NUMBER: _ClassVar[int]
    preset: Preset
    def __init__(self, preset: _Optional[_Union[Preset, _Mapping]] = ...) -> None: ...

class DeletePresetRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DeletePresetResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Artifact(_message.Message):
    __slots__ = ("name", "size", "content_type")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    name: str
    size: int
    content_type: str
    def __init__(self, name: _Optional[str] = ..., size: _Optional[int] = ..., content_type: _Optional[str] = ...) -> None: ...

class ListArtifactsRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class ListArtifactsResponse(_message.Message):
    __slots__ = ("artifacts",)
    ARTIFACTS_FIELD_NUMBER: _ClassVar[int]
    artifacts: _containers.RepeatedCompositeFieldContainer[Artifact]
    def __init__(self, artifacts: _Optional[_Iterable[_Union[Artifact, _Mapping]]] = ...) -> None: ...

class GetArtifactRequest(_message.Message):
    __slots__ = ("job_id", "name")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    name: str
    def __init__(self, job_id: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class ArtifactChunk(_message.Message):
    __slots__ = ("artifact", "data")
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    artifact: Artifact
    data: bytes
    def __init__(self, artifact: _Optional[_Union[Artifact, _Mapping]] = ..., data: _Optional[bytes] = ...) -> None: ...

class TailLogsRequest(_message.Message):
    __slots__ = ("job_id", "follow", "shard")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_FIELD_NUMBER: _ClassVar[int]
    SHARD_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    follow: bool
    shard: int
    def __init__(self, job_id: _Optional[str] = ..., follow: _Optional[bool] = ..., shard: _Optional[int] = ...) -> None: ...

class LogChunk(_message.Message):
    __slots__ = ("shard", "data")
    SHARD_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    shard: int
    data: bytes
    def __init__(self, shard: _Optional[int] = ..., data: _Optional[bytes] = ...) -> None: ...

class ShareLink(_message.Message):
    __slots__ = ("link_id", "job_id", "study_id", "created_at", "expires_at", "revoked_at")
    LINK_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STUDY_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    REVOKED_AT_FIELD_NUMBER: _ClassVar[int]
    link_id: str
    job_id: str
    study_id: str
    created_at: _timestamp_pb2.Timestamp
    expires_at: _timestamp_pb2.Timestamp
    revoked_at: _timestamp_pb2.Timestamp
    def __init__(self, link_id: _Optional[str] = ..., job_id: _Optional[str] = ..., study_id: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revoked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateShareLinkRequest(_message.Message):
    __slots__ = ("job_id", "study_id", "ttl_seconds")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STUDY_ID_FIELD_NUMBER: _ClassVar[int]
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    study_id: str
    ttl_seconds: int
    def __init__(self, job_id: _Optional[str] = ..., study_id: _Optional[str] = ..., ttl_seconds: _Optional[int] = ...) -> None: ...

class CreateShareLinkResponse(_message.Message):
    __slots__ = ("link", "token")
    LINK_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    link: ShareLink
    token: str
    def __init__(self, link: _Optional[_Union[ShareLink, _Mapping]] = ..., token: _Optional[str] = ...) -> None: ...

class ListShareLinksRequest(_message.Message):
    __slots__ = ("job_id", "study_id")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STUDY_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    study_id: str
    def __init__(self, job_id: _Optional[str] = ..., study_id: _Optional[str] = ...) -> None: ...

class ListShareLinksResponse(_message.Message):
    __slots__ = ("links",)
    LINKS_FIELD_NUMBER: _ClassVar[int]
    links: _containers.RepeatedCompositeFieldContainer[ShareLink]
    def __init__(self, links: _Optional[_Iterable[_Union[ShareLink, _Mapping]]] = ...) -> None: ...

class RevokeShareLinkRequest(_message.Message):
    __slots__ = ("link_id",)
    LINK_ID_FIELD_NUMBER: _ClassVar[int]
    link_id: str
    def __init__(self, link_id: _Optional[str] = ...) -> None: ...

class StudyValues(_message.Message):
    __slots__ = ("values",)
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Value]
    def __init__(self, values: _Optional[_Iterable[_Union[_struct_pb2.Value, _Mapping]]] = ...) -> None: ...

class StudyRange(_message.Message):
    __slots__ = ("start", "stop", "count", "log")
    START_FIELD_NUMBER: _ClassVar[int]
    STOP_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    LOG_FIELD_NUMBER: _ClassVar[int]
    start: float
    stop: float
    count: int
    log: bool
    def __init__(self, start: _Optional[float] = ..., stop: _Optional[float] = ..., count: _Optional[int] = ..., log: _Optional[bool] = ...) -> None: ...

class StudyAxis(_message.Message):
    __slots__ = ("parameter", "values", "range")
    PARAMETER_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    parameter: str
    values: StudyValues
    range: StudyRange
    def __init__(self, parameter: _Optional[str] = ..., values: _Optional[_Union[StudyValues, _Mapping]] = ..., range: _Optional[_Union[StudyRange, _Mapping]] = ...) -> None: ...

class StudySpec(_message.Message):
    __slots__ = ("model", "parameters", "axes", "design", "points", "seed", "crn", "shards", "precision", "no_cache", "title")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    AXES_FIELD_NUMBER: _ClassVar[int]
    DESIGN_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    CRN_FIELD_NUMBER: _ClassVar[int]
    SHARDS_FIELD_NUMBER: _ClassVar[int]
    PRECISION_FIELD_NUMBER: _ClassVar[int]
    NO_CACHE_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    model: str
    parameters: _struct_pb2.Struct
    axes: _containers.RepeatedCompositeFieldContainer[StudyAxis]
    design: StudyDesign
    points: int
    seed: int
    crn: bool
    shards: int
    precision: Precision
    no_cache: bool
    title: str
    def __init__(self, model: _Optional[str] = ..., parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., axes: _Optional[_Iterable[_Union[StudyAxis, _Mapping]]] = ..., design: _Optional[_Union[StudyDesign, str]] = ..., points: _Optional[int] = ..., seed: _Optional[int] = ..., crn: _Optional[bool] = ..., shards: _Optional[int] = ..., precision: _Optional[_Union[Precision, _Mapping]] = ..., no_cache: _Optional[bool] = ..., title: _Optional[str] = ...) -> None: ...

class SubmitStudyRequest(_message.Message):
    __slots__ = ("spec", "request_id")
    SPEC_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    spec: StudySpec
    request_id: str
    def __init__(self, spec: _Optional[_Union[StudySpec, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class SubmitStudyResponse(_message.Message):
    __slots__ = ("study", "created")
    STUDY_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    study: Study
    created: bool
    def __init__(self, study: _Optional[_Union[Study, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class StudyCounts(_message.Message):
    __slots__ = ("queued", "running", "succeeded", "failed", "cancelled")
    QUEUED_FIELD_NUMBER: _ClassVar[int]
    RUNNING_FIELD_NUMBER: _ClassVar[int]
    SUCCEEDED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    queued: int
    running: int
    succeeded: int
    failed: int
    cancelled: int
    def __init__(self, queued: _Optional[int] = ..., running: _Optional[int] = ..., succeeded: _Optional[int] = ..., failed: _Optional[int] = ..., cancelled: _Optional[int] = ...) -> None: ...

class Study(_message.Message):
    __slots__ = ("study_id", "owner", "title", "spec", "model_version", "primary_output", "swept", "points", "state", "counts", "samples_done", "samples_total", "created_at", "updated_at", "ended_at", "points_per_second", "eta_seconds", "queue_ahead", "request_id")
    STUDY_ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    PRIMARY_OUTPUT_FIELD_NUMBER: _ClassVar[int]
    SWEPT_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_DONE_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_TOTAL_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    ENDED_AT_FIELD_NUMBER: _ClassVar[int]
    POINTS_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    ETA_SECONDS_FIELD_NUMBER: _ClassVar[int]
    QUEUE_AHEAD_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    study_id: str
    owner: str
    title: str
    spec: StudySpec
    model_version: int
    primary_output: str
    swept: _containers.RepeatedScalarFieldContainer[str]
    points: int
    state: StudyState
    counts: StudyCounts
    samples_done: int
    samples_total: int
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    ended_at: _timestamp_pb2.Timestamp
    points_per_second: float
    eta_seconds: float
    queue_ahead: int
    request_id: str
    def __init__(self, study_id: _Optional[str] = ..., owner: _Optional[str] = ..., title: _Optional[str] = ..., spec: _Optional[_Union[StudySpec, _Mapping]] = ..., model_version: _Optional[int] = ..., primary_output: _Optional[str] = ..., swept: _Optional[_Iterable[str]] = ..., points: _Optional[int] = ..., state: _Optional[_Union[StudyState, str]] = ..., counts: _Optional[_Union[StudyCounts, _Mapping]] = ..., samples_done: _Optional[int] = ..., samples_total: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ended_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., points_per_second: _Optional[float] = ..., eta_seconds: _Optional[float] = ..., queue_ahead: _Optional[int] = ..., request_id: _Optional[str] = ...) -> None: ...

class StudyPoint(_message.Message):
    __slots__ = ("index", "job_id", "parameters", "seed", "state", "seq", "progress", "stop", "error", "updated_at")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    STOP_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    index: int
    job_id: str
    parameters: _struct_pb2.Struct
    seed: int
    state: JobState
    seq: int
    progress: Progress
    stop: StopInfo
    error: str
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, index: _Optional[int] = ..., job_id: _Optional[str] = ..., parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., seed: _Optional[int] = ..., state: _Optional[_Union[JobState, str]] = ..., seq: _Optional[int] = ..., progress: _Optional[_Union[Progress, _Mapping]] = ..., stop: _Optional[_Union[StopInfo, _Mapping]] = ..., error: _Optional[str] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetStudyRequest(_message.Message):
    __slots__ = ("study_id",)
    STUDY_ID_FIELD_NUMBER: _ClassVar[int]
    study_id: str
    def __init__(self, study_id: _Optional[str] = ...) -> None: ...

class ListStudiesRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListStudiesResponse(_message.Message):
    __slots__ = ("studies", "next_page_token")
    STUDIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    studies: _containers.RepeatedCompositeFieldContainer[Study]
    next_page_token: str
    def __init__(self, studies: _Optional[_Iterable[_Union[Study, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListStudyPointsRequest(_message.Message):
    __slots__ = ("study_id", "page_size", "page_token")
    STUDY_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    study_id: str
    page_size: int
    page_token: str
    def __init__(self, study_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListStudyPointsResponse(_message.Message):
    __slots__ = ("points", "next_page_token")
    POINTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    points: _containers.RepeatedCompositeFieldContainer[StudyPoint]
    next_page_token: str
    def __init__(self, points: _Optional[_Iterable[_Union[StudyPoint, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class WatchStudyRequest(_message.Message):
    __slots__ = ("study_id",)
    STUDY_ID_FIELD_NUMBER: _ClassVar[int]
    study_id: str
    def __init__(self, study_id: _Optional[str] = ...) -> None: ...

class StudyEvent(_message.Message):
    __slots__ = ("study", "points", "snapshot")
    STUDY_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    study: Study
    points: _containers.RepeatedCompositeFieldContainer[StudyPoint]
    snapshot: bool
    def __init__(self, study: _Optional[_Union[Study, _Mapping]] = ..., points: _Optional[_Iterable[_Union[StudyPoint, _Mapping]]] = ..., snapshot: _Optional[bool] = ...) -> None: ...

class CancelStudyRequest(_message.Message):
    __slots__ = ("study_id",)
    STUDY_ID_FIELD_NUMBER: _ClassVar[int]
    study_id: str
    def __init__(self, study_id: _Optional[str] = ...) -> None: ...

class ComparePointsRequest(_message.Message):
    __slots__ = ("study_id", "a", "b")
    STUDY_ID_FIELD_NUMBER: _ClassVar[int]
    A_FIELD_NUMBER: _ClassVar[int]
    B_FIELD_NUMBER: _ClassVar[int]
    study_id: str
    a: int
    b: int
    def __init__(self, study_id: _Optional[str] = ..., a: _Optional[int] = ..., b: _Optional[int] = ...) -> None: ...

class ComparePointsResponse(_message.Message):
    __slots__ = ("a", "b", "difference", "stderr", "stderr_independent", "correlation", "blocks", "confidence", "half_width")
    A_FIELD_NUMBER: _ClassVar[int]
    B_FIELD_NUMBER: _ClassVar[int]
    DIFFERENCE_FIELD_NUMBER: _ClassVar[int]
    STDERR_FIELD_NUMBER: _ClassVar[int]
    STDERR_INDEPENDENT_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_FIELD_NUMBER: _ClassVar[int]
    BLOCKS_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    HALF_WIDTH_FIELD_NUMBER: _ClassVar[int]
    a: StudyPoint
    b: StudyPoint
    difference: float
    stderr: float
    stderr_independent: float
    correlation: float
    blocks: int
    confidence: float
    half_width: float
    def __init__(self, a: _Optional[_Union[StudyPoint, _Mapping]] = ..., b: _Optional[_Union[StudyPoint, _Mapping]] = ..., difference: _Optional[float] = ..., stderr: _Optional[float] = ..., stderr_independent: _Optional[float] = ..., correlation: _Optional[float] = ..., blocks: _Optional[int] = ..., confidence: _Optional[float] = ..., half_width: _Optional[float] = ...) -> None: ...
