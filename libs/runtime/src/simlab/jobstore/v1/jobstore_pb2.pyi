import datetime

from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from simlab.v1 import simulation_pb2 as _simulation_pb2
from simlab.v1 import stats_pb2 as _stats_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CreateJobRequest(_message.Message):
    __slots__ = ("owner", "request_id", "model", "parameters", "seed", "shards", "primary_output", "block_size", "samples_total", "model_version", "code_sha256", "args", "precision", "no_cache", "extends", "latest")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    SHARDS_FIELD_NUMBER: _ClassVar[int]
    PRIMARY_OUTPUT_FIELD_NUMBER: _ClassVar[int]
    BLOCK_SIZE_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_TOTAL_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    CODE_SHA256_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    PRECISION_FIELD_NUMBER: _ClassVar[int]
    NO_CACHE_FIELD_NUMBER: _ClassVar[int]
    EXTENDS_FIELD_NUMBER: _ClassVar[int]
    LATEST_FIELD_NUMBER: _ClassVar[int]
    owner: str
    request_id: str
    model: str
    parameters: _struct_pb2.Struct
    seed: int
    shards: int
    primary_output: str
    block_size: int
    samples_total: int
    model_version: int
    code_sha256: str
    args: _containers.RepeatedScalarFieldContainer[str]
    precision: _simulation_pb2.Precision
    no_cache: bool
    extends: str
    latest: bool
    def __init__(self, owner: _Optional[str] = ..., request_id: _Optional[str] = ..., model: _Optional[str] = ..., parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., seed: _Optional[int] = ..., shards: _Optional[int] = ..., primary_output: _Optional[str] = ..., block_size: _Optional[int] = ..., samples_total: _Optional[int] = ..., model_version: _Optional[int] = ..., code_sha256: _Optional[str] = ..., args: _Optional[_Iterable[str]] = ..., precision: _Optional[_Union[_simulation_pb2.Precision, _Mapping]] = ..., no_cache: _Optional[bool] = ..., extends: _Optional[str] = ..., latest: _Optional[bool] = ...) -> None: ...

class CreateJobResponse(_message.Message):
    __slots__ = ("job", "created")
    JOB_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    job: _simulation_pb2.Job
    created: bool
    def __init__(self, job: _Optional[_Union[_simulation_pb2.Job, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class CreateJobsRequest(_message.Message):
    __slots__ = ("jobs",)
    JOBS_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[CreateJobRequest]
    def __init__(self, jobs: _Optional[_Iterable[_Union[CreateJobRequest, _Mapping]]] = ...) -> None: ...

class CreateJobsResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[CreateJobResult]
    def __init__(self, results: _Optional[_Iterable[_Union[CreateJobResult, _Mapping]]] = ...) -> None: ...

class CreateJobResult(_message.Message):
    __slots__ = ("created", "refused")
    CREATED_FIELD_NUMBER: _ClassVar[int]
    REFUSED_FIELD_NUMBER: _ClassVar[int]
    created: CreateJobResponse
    refused: Refusal
    def __init__(self, created: _Optional[_Union[CreateJobResponse, _Mapping]] = ..., refused: _Optional[_Union[Refusal, _Mapping]] = ...) -> None: ...

class Refusal(_message.Message):
    __slots__ = ("code", "message", "field", "quota")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    QUOTA_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    field: str
    quota: str
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ..., field: _Optional[str] = ..., quota: _Optional[str] = ...) -> None: ...

class GetJobRequest(_message.Message):
    __slots__ = ("owner", "job_id")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    owner: str
    job_id: str
    def __init__(self, owner: _Optional[str] = ..., job_id: _Optional[str] = ...) -> None: ...

class GetProgressHistoryRequest(_message.Message):
    __slots__ = ("owner", "job_id")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    owner: str
    job_id: str
    def __init__(self, owner: _Optional[str] = ..., job_id: _Optional[str] = ...) -> None: ...

class ListJobsRequest(_message.Message):
    __slots__ = ("owner", "query")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    owner: str
    query: _simulation_pb2.ListJobsRequest
    def __init__(self, owner: _Optional[str] = ..., query: _Optional[_Union[_simulation_pb2.ListJobsRequest, _Mapping]] = ...) -> None: ...

class CancelJobRequest(_message.Message):
    __slots__ = ("owner", "job_id")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    owner: str
    job_id: str
    def __init__(self, owner: _Optional[str] = ..., job_id: _Optional[str] = ...) -> None: ...

class ListPresetsRequest(_message.Message):
    __slots__ = ("owner", "model")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    owner: str
    model: str
    def __init__(self, owner: _Optional[str] = ..., model: _Optional[str] = ...) -> None: ...

class SavePresetRequest(_message.Message):
    __slots__ = ("owner", "preset")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    PRESET_FIELD_NUMBER: _ClassVar[int]
    owner: str
    preset: _simulation_pb2.Preset
    def __init__(self, owner: _Optional[str] = ..., preset: _Optional[_Union[_simulation_pb2.Preset, _Mapping]] = ...) -> None: ...

class DeletePresetRequest(_message.Message):
    __slots__ = ("owner", "name")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    owner: str
    name: str
    def __init__(self, owner: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class ReportStateRequest(_message.Message):
    __slots__ = ("job_id", "state", "reason", "error")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    state: _simulation_pb2.JobState
    reason: str
    error: _simulation_pb2.JobError
    def __init__(self, job_id: _Optional[str] = ..., state: _Optional[_Union[_simulation_pb2.JobState, str]] = ..., reason: _Optional[str] = ..., error: _Optional[_Union[_simulation_pb2.JobError, _Mapping]] = ...) -> None: ...

class ListActiveJobsRequest(_message.Message):
    __slots__ = ("states", "study_id")
    STATES_FIELD_NUMBER: _ClassVar[int]
    STUDY_ID_FIELD_NUMBER: _ClassVar[int]
    states: _containers.RepeatedScalarFieldContainer[_simulation_pb2.JobState]
    study_id: str
    def __init__(self, states: _Optional[_Iterable[_Union[_simulation_pb2.JobState, str]]] = ..., study_id: _Optional[str] = ...) -> None: ...

class ListActiveJobsResponse(_message.Message):
    __slots__ = ("jobs",)
    JOBS_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[_simulation_pb2.Job]
    def __init__(self, jobs: _Optional[_Iterable[_Union[_simulation_pb2.Job, _Mapping]]] = ...) -> None: ...

class StartShardRequest(_message.Message):
    __slots__ = ("job_id", "shard", "runtime")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    SHARD_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    shard: int
    runtime: str
    def __init__(self, job_id: _Optional[str] = ..., shard: _Optional[int] = ..., runtime: _Optional[str] = ...) -> None: ...

class StartShardResponse(_message.Message):
    __slots__ = ("job", "done_blocks", "stop", "stop_block")
    JOB_FIELD_NUMBER: _ClassVar[int]
    DONE_BLOCKS_FIELD_NUMBER: _ClassVar[int]
    STOP_FIELD_NUMBER: _ClassVar[int]
    STOP_BLOCK_FIELD_NUMBER: _ClassVar[int]
    job: _simulation_pb2.Job
    done_blocks: _containers.RepeatedScalarFieldContainer[int]
    stop: bool
    stop_block: int
    def __init__(self, job: _Optional[_Union[_simulation_pb2.Job, _Mapping]] = ..., done_blocks: _Optional[_Iterable[int]] = ..., stop: _Optional[bool] = ..., stop_block: _Optional[int] = ...) -> None: ...

class ReportBlocksRequest(_message.Message):
    __slots__ = ("job_id", "shard", "blocks")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    SHARD_FIELD_NUMBER: _ClassVar[int]
    BLOCKS_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    shard: int
    blocks: _containers.RepeatedCompositeFieldContainer[_stats_pb2.BlockStats]
    def __init__(self, job_id: _Optional[str] = ..., shard: _Optional[int] = ..., blocks: _Optional[_Iterable[_Union[_stats_pb2.BlockStats, _Mapping]]] = ...) -> None: ...

class ReportBlocksResponse(_message.Message):
    __slots__ = ("stop", "stop_block")
    STOP_FIELD_NUMBER: _ClassVar[int]
    STOP_BLOCK_FIELD_NUMBER: _ClassVar[int]
    stop: bool
    stop_block: int
    def __init__(self, stop: _Optional[bool] = ..., stop_block: _Optional[int] = ...) -> None: ...

class FinishShardRequest(_message.Message):
    __slots__ = ("job_id", "shard")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    SHARD_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    shard: int
    def __init__(self, job_id: _Optional[str] = ..., shard: _Optional[int] = ...) -> None: ...

class FinishShardResponse(_message.Message):
    __slots__ = ("finalize", "blocks", "job")
    FINALIZE_FIELD_NUMBER: _ClassVar[int]
    BLOCKS_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    finalize: bool
    blocks: _containers.RepeatedCompositeFieldContainer[_stats_pb2.BlockStats]
    job: _simulation_pb2.Job
    def __init__(self, finalize: _Optional[bool] = ..., blocks: _Optional[_Iterable[_Union[_stats_pb2.BlockStats, _Mapping]]] = ..., job: _Optional[_Union[_simulation_pb2.Job, _Mapping]] = ...) -> None: ...

class CompleteJobRequest(_message.Message):
    __slots__ = ("job_id", "summary")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    summary: _struct_pb2.Struct
    def __init__(self, job_id: _Optional[str] = ..., summary: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class FailJobRequest(_message.Message):
    __slots__ = ("job_id", "shard", "error")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    SHARD_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    shard: int
    error: _simulation_pb2.JobError
    def __init__(self, job_id: _Optional[str] = ..., shard: _Optional[int] = ..., error: _Optional[_Union[_simulation_pb2.JobError, _Mapping]] = ...) -> None: ...

class CreateShareLinkRequest(_message.Message):
    __slots__ = ("owner", "job_id", "study_id", "ttl_seconds")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STUDY_ID_FIELD_NUMBER: _ClassVar[int]
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    owner: str
    job_id: str
    study_id: str
    ttl_seconds: int
    def __init__(self, owner: _Optional[str] = ..., job_id: _Optional[str] = ..., study_id: _Optional[str] = ..., ttl_seconds: _Optional[int] = ...) -> None: ...

class ListShareLinksRequest(_message.Message):
    __slots__ = ("owner", "job_id", "study_id")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STUDY_ID_FIELD_NUMBER: _ClassVar[int]
    owner: str
    job_id: str
    study_id: str
    def __init__(self, owner: _Optional[str] = ..., job_id: _Optional[str] = ..., study_id: _Optional[str] = ...) -> None: ...

class RevokeShareLinkRequest(_message.Message):
    __slots__ = ("owner", "link_id")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    LINK_ID_FIELD_NUMBER: _ClassVar[int]
    owner: str
    link_id: str
    def __init__(self, owner: _Optional[str] = ..., link_id: _Optional[str] = ...) -> None: ...

class ResolveShareTokenRequest(_message.Message):
    __slots__ = ("token",)
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: str
    def __init__(self, token: _Optional[str] = ...) -> None: ...

class ResolveShareTokenResponse(_message.Message):
    __slots__ = ("owner", "job_id", "study_id")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STUDY_ID_FIELD_NUMBER: _ClassVar[int]
    owner: str
    job_id: str
    study_id: str
    def __init__(self, owner: _Optional[str] = ..., job_id: _Optional[str] = ..., study_id: _Optional[str] = ...) -> None: ...

class GetModelRequest(_message.Message):
    __slots__ = ("owner", "name", "version")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    owner: str
    name: str
    version: int
    def __init__(self, owner: _Optional[str] = ..., name: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ("owner",)
    OWNER_FIELD_NUMBER: _ClassVar[int]
    owner: str
    def __init__(self, owner: _Optional[str] = ...) -> None: ...

class ListModelVersionsRequest(_message.Message):
    __slots__ = ("owner", "name")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    owner: str
    name: str
    def __init__(self, owner: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class BeginRegistrationRequest(_message.Message):
    __slots__ = ("owner", "name", "public", "code_sha256", "code_size", "entry", "files", "request_id")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_FIELD_NUMBER: _ClassVar[int]
    CODE_SHA256_FIELD_NUMBER: _ClassVar[int]
    CODE_SIZE_FIELD_NUMBER: _ClassVar[int]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    owner: str
    name: str
    public: bool
    code_sha256: str
    code_size: int
    entry: str
    files: _containers.RepeatedScalarFieldContainer[str]
    request_id: str
    def __init__(self, owner: _Optional[str] = ..., name: _Optional[str] = ..., public: _Optional[bool] = ..., code_sha256: _Optional[str] = ..., code_size: _Optional[int] = ..., entry: _Optional[str] = ..., files: _Optional[_Iterable[str]] = ..., request_id: _Optional[str] = ...) -> None: ...

class BeginRegistrationResponse(_message.Message):
    __slots__ = ("job", "existing")
    JOB_FIELD_NUMBER: _ClassVar[int]
    EXISTING_FIELD_NUMBER: _ClassVar[int]
    job: _simulation_pb2.Job
    existing: _simulation_pb2.Model
    def __init__(self, job: _Optional[_Union[_simulation_pb2.Job, _Mapping]] = ..., existing: _Optional[_Union[_simulation_pb2.Model, _Mapping]] = ...) -> None: ...

class RegisterBuiltinModelRequest(_message.Message):
    __slots__ = ("model",)
    MODEL_FIELD_NUMBER: _ClassVar[int]
    model: _simulation_pb2.Model
    def __init__(self, model: _Optional[_Union[_simulation_pb2.Model, _Mapping]] = ...) -> None: ...

class ReportProgressRequest(_message.Message):
    __slots__ = ("job_id", "shard", "done", "total", "estimate", "stderr")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    SHARD_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    ESTIMATE_FIELD_NUMBER: _ClassVar[int]
    STDERR_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    shard: int
    done: float
    total: float
    estimate: float
    stderr: float
    def __init__(self, job_id: _Optional[str] = ..., shard: _Optional[int] = ..., done: _Optional[float] = ..., total: _Optional[float] = ..., estimate: _Optional[float] = ..., stderr: _Optional[float] = ...) -> None: ...

class CompleteRegistrationRequest(_message.Message):
    __slots__ = ("job_id", "model")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    model: _simulation_pb2.Model
    def __init__(self, job_id: _Optional[str] = ..., model: _Optional[_Union[_simulation_pb2.Model, _Mapping]] = ...) -> None: ...

class GetBundleRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class BundleChunk(_message.Message):
    __slots__ = ("sha256", "data")
    SHA256_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    sha256: str
    data: bytes
    def __init__(self, sha256: _Optional[str] = ..., data: _Optional[bytes] = ...) -> None: ...

class PutArtifactsRequest(_message.Message):
    __slots__ = ("job_id", "name", "data")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    name: str
    data: bytes
    def __init__(self, job_id: _Optional[str] = ..., name: _Optional[str] = ..., data: _Optional[bytes] = ...) -> None: ...

class PutArtifactsResponse(_message.Message):
    __slots__ = ("names",)
    NAMES_FIELD_NUMBER: _ClassVar[int]
    names: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, names: _Optional[_Iterable[str]] = ...) -> None: ...

class ReportProgressResponse(_message.Message):
    __slots__ = ("stop",)
    STOP_FIELD_NUMBER: _ClassVar[int]
    stop: bool
    def __init__(self, stop: _Optional[bool] = ...) -> None: ...

class StudyPointSpec(_message.Message):
    __slots__ = ("parameters", "seed", "block_size", "samples_total")
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    BLOCK_SIZE_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_TOTAL_FIELD_NUMBER: _ClassVar[int]
    parameters: _struct_pb2.Struct
    seed: int
    block_size: int
    samples_total: int
    def __init__(self, parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., seed: _Optional[int] = ..., block_size: _Optional[int] = ..., samples_total: _Optional[int] = ...) -> None: ...

class CreateStudyRequest(_message.Message):
    __slots__ = ("owner", "request_id", "spec", "model", "model_version", "code_sha256", "primary_output", "swept", "points")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    CODE_SHA256_FIELD_NUMBER: _ClassVar[int]
    PRIMARY_OUTPUT_FIELD_NUMBER: _ClassVar[int]
    SWEPT_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    owner: str
    request_id: str
    spec: _simulation_pb2.StudySpec
    model: str
    model_version: int
    code_sha256: str
    primary_output: str
    swept: _containers.RepeatedScalarFieldContainer[str]
    points: _containers.RepeatedCompositeFieldContainer[StudyPointSpec]
    def __init__(self, owner: _Optional[str] = ..., request_id: _Optional[str] = ..., spec: _Optional[_Union[_simulation_pb2.StudySpec, _Mapping]] = ..., model: _Optional[str] = ..., model_version: _Optional[int] = ..., code_sha256: _Optional[str] = ..., primary_output: _Optional[str] = ..., swept: _Optional[_Iterable[str]] = ..., points: _Optional[_Iterable[_Union[StudyPointSpec, _Mapping]]] = ...) -> None: ...

class CreateStudyResponse(_message.Message):
    __slots__ = ("study", "created")
    STUDY_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    study: _simulation_pb2.Study
    created: bool
    def __init__(self, study: _Optional[_Union[_simulation_pb2.Study, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class GetStudyRequest(_message.Message):
    __slots__ = ("owner", "study_id")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    STUDY_ID_FIELD_NUMBER: _ClassVar[int]
    owner: str
    study_id: str
    def __init__(self, owner: _Optional[str] = ..., study_id: _Optional[str] = ...) -> None: ...

class ListStudiesRequest(_message.Message):
    __slots__ = ("owner", "query")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    owner: str
    query: _simulation_pb2.ListStudiesRequest
    def __init__(self, owner: _Optional[str] = ..., query: _Optional[_Union[_simulation_pb2.ListStudiesRequest, _Mapping]] = ...) -> None: ...

class ListStudyPointsRequest(_message.Message):
    __slots__ = ("owner", "query", "changed_since")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    CHANGED_SINCE_FIELD_NUMBER: _ClassVar[int]
    owner: str
    query: _simulation_pb2.ListStudyPointsRequest
    changed_since: _timestamp_pb2.Timestamp
    def __init__(self, owner: _Optional[str] = ..., query: _Optional[_Union[_simulation_pb2.ListStudyPointsRequest, _Mapping]] = ..., changed_since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CancelStudyRequest(_message.Message):
    __slots__ = ("owner", "study_id")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    STUDY_ID_FIELD_NUMBER: _ClassVar[int]
    owner: str
    study_id: str
    def __init__(self, owner: _Optional[str] = ..., study_id: _Optional[str] = ...) -> None: ...

class ComparePointsRequest(_message.Message):
    __slots__ = ("owner", "query")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    owner: str
    query: _simulation_pb2.ComparePointsRequest
    def __init__(self, owner: _Optional[str] = ..., query: _Optional[_Union[_simulation_pb2.ComparePointsRequest, _Mapping]] = ...) -> None: ...

class StudyQueuedEvent(_message.Message):
    __slots__ = ("event_id", "study_id")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    STUDY_ID_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    study_id: str
    def __init__(self, event_id: _Optional[str] = ..., study_id: _Optional[str] = ...) -> None: ...
