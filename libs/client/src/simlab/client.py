"""The Python client of Simlab: what the CLI is built on, and what a notebook uses.

from simlab.client import Client
sim = Client()                        # SIMLAB_SERVER, else http://127.0.0.1:8080; the token:
                                      # SIMLAB_TOKEN, SIMLAB_TOKEN_FILE, else .simlab/token
job = sim.submit("pi", {"samples": 10_000_000}, shards=4, seed=7)
job = sim.wait(job.job_id)            # a live progress bar; returns the finished job
# Stop once the answer is precise enough (the sample parameter is then the budget), and top
# a finished run up: only the new blocks are computed.
job = sim.submit("pi", {"samples": 10**9}, seed=7, rel_tol=1e-4, confidence=0.99)
more = sim.extend(job.job_id, samples=4 * 10**9)
sim.summary(job.job_id)               # {'estimate': 3.1415..., 'stderr': ...}
sim.data(job.job_id)                  # {'column': numpy array, ...}

Your own code (a file, or a function defined in a notebook) runs the same way:
job = sim.run("asian.py", {"strike": 105}, wait=True)    # push the code, then submit it
model = sim.push_model(simulate, name="asian")          # only push: a new version, or the same

A study sweeps parameters as one object (a Study handle), and notebooks get DataFrames:
study = sim.study("european_option", params={"spot": 100},
                  sweep={"strike": [90, 100, 110], "volatility": simlab.range(0.1, 0.5, 9)},
                  crn=True, seed=7)
study.wait().to_pandas()              # one row per point: parameters, estimate, interval, state
study.compare(0, 1)                   # the difference of two points, with its paired error
sim.runs_frame(model="pi")            # your runs, one row each
run = sim.run_handle(job.job_id)      # .wait(), .summary, .data; shows itself in Jupyter
"""

from __future__ import annotations

import io
import ipaddress
import json
import math
import os
import re
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import grpc
import numpy as np
import stamina
from google.protobuf import json_format, struct_pb2

from simlab.bundle import Bundle, collect, from_function
from simlab.common.errors import Code, SimlabError, invalid
from simlab.handles import Comparison, Run, Study
from simlab.progress import follow
from simlab.states import (
    STUDY_ENDED,
    TERMINAL,
    job_state,
    state_name,
    stop_reason,
    study_state_name,
)
from simlab.studyspec import Axis, build_spec
from simlab.tables import DEFAULT_CONFIDENCE, frame, pandas_module, run_rows
from simlab.transport.errors import from_grpc
from simlab.transport.structs import struct_to_dict, whole_numbers
from simlab.v1 import simulation_pb2 as pb
from simlab.v1 import simulation_pb2_grpc

# CreateShareLink's ttl_seconds for a link that never expires (0 is the server's default).
SHARE_NEVER_EXPIRES = -1
DEFAULT_SERVER = "http://127.0.0.1:8080"
# The gateway answers a push once a sandboxed worker has inspected the code (its own limit is
# 300 s by default), so a push may take minutes.
PUSH_TIMEOUT_S = 900
NAME_LENGTH = 64
# Where `make run` keeps the local stack's token, looked for in the working directory and
# its parents.
LOCAL_TOKEN_FILE = Path(".simlab", "token")
HTTP_CODES = {401: Code.UNAUTHENTICATED, 403: Code.PERMISSION_DENIED, 404: Code.NOT_FOUND}
# What 0 means in a Precision's min_blocks (the server's default, simlab.core.precision), for
# showing one; DEFAULT_CONFIDENCE is simlab.tables'.
DEFAULT_MIN_BLOCKS = 10
# Points per ListStudyPoints page (the server allows up to 10,000; a page of 1,000 is well
# under gRPC's 4 MiB message limit).
STUDY_POINTS_PAGE = 1000
# Jobs per ListJobs page (the server's maximum).
JOBS_PAGE = 500


def find_token(
    server: str, environ: Mapping[str, str] | None = None, cwd: Path | None = None
) -> str | None:
    """The token to send when none is given: $SIMLAB_TOKEN, then the file $SIMLAB_TOKEN_FILE
    names, then (for a server on this machine only: a local stack's token is no credential
    elsewhere) .simlab/token in the working directory or a parent."""
    environ = os.environ if environ is None else environ
    if token := environ.get("SIMLAB_TOKEN", "").strip():
        return token
    if named := environ.get("SIMLAB_TOKEN_FILE", "").strip():
        return _read_token(Path(named), "SIMLAB_TOKEN_FILE")
    if not _on_this_machine(server):
        return None
    here = (cwd or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if (directory / LOCAL_TOKEN_FILE).is_file():
            return _read_token(directory / LOCAL_TOKEN_FILE, "the local stack's token")
    return None


def _read_token(path: Path, what: str) -> str:
    try:
        token = path.read_text().strip()
    except OSError as error:
        raise SimlabError(Code.UNAUTHENTICATED, f"{what} ({path}): {error.strerror}") from None
    if not token:
        raise SimlabError(Code.UNAUTHENTICATED, f"{what} ({path}) is empty")
    return token


def _on_this_machine(server: str) -> bool:
    host = urlparse(server if "//" in server else f"http://{server}").hostname or ""
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def model_name(stem: str) -> str:
    """A model name made from a file's stem or a function's name: characters a name cannot
    hold become "_", and one that does not start with a letter gets "model_" in front."""
    name = re.sub(r"[^A-Za-z0-9_-]", "_", stem)
    if not name[:1].isascii() or not name[:1].isalpha():
        name = f"model_{name}"
    return name[:NAME_LENGTH]


def bundle_of(
    code: str | os.PathLike[str] | Callable[..., Any], include: Sequence[str] = ()
) -> tuple[Bundle, str]:
    """The bundle of a file (and the modules beside it it imports, plus `include` globs) or of
    a function, with the model name it has by default: the file's stem; the function's name,
    or for one called `simulate` its module's (unless that is a notebook's __main__)."""
    if callable(code):
        if include:
            raise ValueError("include= is for files; a function ships alone")
        stem = getattr(code, "__name__", "model")
        module = getattr(code, "__module__", None) or "__main__"
        if stem == "simulate" and module != "__main__":
            stem = module.rpartition(".")[2]
        return from_function(code), model_name(stem)
    path = Path(code)
    return collect(path, include=include), model_name(path.stem)


def sample_count(value: float | str, what: str = "samples") -> int:
    """A number of samples: an int, or a whole number written as a float or text ("4e7",
    "40_000_000"); at least 1. ValueError naming `what` otherwise."""
    number: float | str = value
    if isinstance(number, str):
        text = number.replace("_", "")
        # As an int first: a float holds whole numbers exactly only up to 2**53.
        number = int(text) if text.lstrip("+-").isdigit() else _float_or_nan(text)
    if isinstance(number, float):
        number = int(number) if number.is_integer() else 0
    if not 1 <= number < 2**63:
        raise ValueError(f"{what} must be a whole number ≥ 1 (e.g. 4e7), got {value!r}")
    return int(number)


def _float_or_nan(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def make_precision(
    *,
    rel_tol: float | None,
    abs_tol: float | None,
    confidence: float | None,
    min_blocks: int | None,
    two_stage: bool | None,
    keep: pb.Precision | None = None,
) -> pb.Precision | None:
    """The precision target to send, None when nothing is given. Settings not given are
    `keep`'s; a new tolerance replaces both of keep's (the target is max(abs_tol, rel_tol *
    |estimate|): a kept abs_tol would loosen a tighter rel_tol)."""
    given = (rel_tol, abs_tol, confidence, min_blocks, two_stage)
    if all(value is None for value in given):
        return None
    precision = pb.Precision()
    if keep is not None:
        precision.CopyFrom(keep)
    if rel_tol is not None or abs_tol is not None:
        precision.rel_tol = rel_tol or 0.0
        precision.abs_tol = abs_tol or 0.0
    if confidence is not None:
        precision.confidence = confidence
    if min_blocks is not None:
        precision.min_blocks = min_blocks
    if two_stage is not None:
        precision.two_stage = two_stage
    if not (precision.rel_tol or precision.abs_tol):
        raise invalid(
            "precision.rel_tol",
            "a precision target needs rel_tol or abs_tol; confidence, min_blocks and "
            "two_stage only qualify it",
        )
    return precision


def precision_to_dict(precision: pb.Precision) -> dict[str, Any]:
    return {
        "rel_tol": precision.rel_tol,
        "abs_tol": precision.abs_tol,
        "confidence": precision.confidence or DEFAULT_CONFIDENCE,
        "min_blocks": precision.min_blocks or DEFAULT_MIN_BLOCKS,
        "two_stage": precision.two_stage,
    }


def stop_to_dict(stop: pb.StopInfo) -> dict[str, Any]:
    return {
        "reason": stop_reason(stop),
        "first_block": stop.first_block,
        "end_block": stop.end_block,
        "samples_used": stop.samples_used,
        "half_width": stop.half_width if stop.HasField("half_width") else None,
        "confidence": stop.confidence,
        "blocks_discarded": stop.blocks_discarded,
    }


def _unavailable(error: Exception) -> bool:
    return isinstance(error, grpc.RpcError) and error.code() == grpc.StatusCode.UNAVAILABLE


class _WatchCut(Exception):
    """A watch stream that ended before what it watches did (a gateway shutting down)."""


def _reconnect(error: Exception) -> bool:
    return _unavailable(error) or isinstance(error, _WatchCut)


def job_to_dict(job: pb.Job) -> dict[str, Any]:
    """The job with stable, documented field names (the CLI's --json output)."""
    progress = job.progress
    return {
        "job_id": job.job_id,
        "status": state_name(job.state),
        "model": job.model,
        "owner": job.owner,
        "parameters": whole_numbers(struct_to_dict(job.parameters)),
        "seed": job.seed,
        "shards": job.shards,
        "request_id": job.request_id,
        "model_version": job.model_version,
        "code_sha256": job.code_sha256,
        "runtime": job.runtime,
        "args": list(job.args),
        "seq": job.seq,
        "created_at": job.created_at.ToJsonString() if job.HasField("created_at") else None,
        "updated_at": job.updated_at.ToJsonString() if job.HasField("updated_at") else None,
        "progress": {
            "blocks_done": progress.blocks_done,
            "blocks_total": progress.blocks_total,
            "samples_done": progress.samples_done,
            "samples_total": progress.samples_total,
            "estimate": progress.estimate if progress.HasField("estimate") else None,
            "stderr": progress.stderr if progress.HasField("stderr") else None,
            "samples_to_target": progress.samples_to_target or None,
        },
        "precision": precision_to_dict(job.precision) if job.HasField("precision") else None,
        "stop": stop_to_dict(job.stop) if job.HasField("stop") else None,
        "cached_from": job.cached_from or None,
        "extends": job.extends or None,
        "summary": whole_numbers(struct_to_dict(job.summary)) if job.HasField("summary") else None,
        "error": (
            {
                "message": job.error.message,
                "source": job.error.source,
                "traceback": job.error.traceback,
                "log_tail": job.error.log_tail,
            }
            if job.HasField("error") and job.error.message
            else None
        ),
        "history": [
            {"status": state_name(h.state), "at": h.at.ToJsonString(), "reason": h.reason}
            for h in job.history
        ],
    }


def study_to_dict(study: pb.Study) -> dict[str, Any]:
    """The study with stable, documented field names (the CLI's --json output)."""
    spec, counts = study.spec, study.counts
    axes: list[dict[str, Any]] = []
    for axis in spec.axes:
        if axis.WhichOneof("kind") == "range":
            r = axis.range
            span = {"start": r.start, "stop": r.stop, "count": r.count or None, "log": r.log}
            axes.append({"parameter": axis.parameter, "range": span})
        else:
            values = [whole_numbers(json_format.MessageToDict(v)) for v in axis.values.values]
            axes.append({"parameter": axis.parameter, "values": values})
    return {
        "study_id": study.study_id,
        "title": study.title,
        "owner": study.owner,
        "state": study_state_name(study.state),
        "model": spec.model,
        "model_version": study.model_version,
        "primary_output": study.primary_output,
        "parameters": whole_numbers(struct_to_dict(spec.parameters)),
        "axes": axes,
        "swept": list(study.swept),
        "design": pb.StudyDesign.Name(spec.design or pb.STUDY_DESIGN_GRID)
        .removeprefix("STUDY_DESIGN_")
        .lower(),
        "points": study.points,
        "seed": spec.seed,
        "crn": spec.crn,
        "shards": spec.shards or 1,
        "precision": precision_to_dict(spec.precision) if spec.HasField("precision") else None,
        "no_cache": spec.no_cache,
        "counts": {
            "queued": counts.queued,
            "running": counts.running,
            "succeeded": counts.succeeded,
            "failed": counts.failed,
            "cancelled": counts.cancelled,
        },
        "samples_done": study.samples_done,
        "samples_total": study.samples_total,
        "points_per_second": study.points_per_second,
        "eta_seconds": study.eta_seconds or None,
        "queue_ahead": study.queue_ahead,
        "request_id": study.request_id,
        "created_at": _time(study, "created_at"),
        "updated_at": _time(study, "updated_at"),
        "ended_at": _time(study, "ended_at"),
    }


def _time(message: Any, field: str) -> str | None:
    return getattr(message, field).ToJsonString() if message.HasField(field) else None


@dataclass(frozen=True)
class Pushed:
    """What a push did: the version it is, whether it is new, and the bytes of code sent
    (0 when the server already had the bundle)."""

    model: pb.Model
    created: bool
    uploaded_bytes: int


class Client:
    def __init__(self, server: str | None = None, token: str | None = None) -> None:
        self.server = server or os.environ.get("SIMLAB_SERVER") or DEFAULT_SERVER
        url = urlparse(self.server if "//" in self.server else f"http://{self.server}")
        port = url.port or (443 if url.scheme == "https" else 80)
        target = f"{url.hostname}:{port}"
        self.channel = (
            grpc.secure_channel(target, grpc.ssl_channel_credentials())
            if url.scheme == "https"
            else grpc.insecure_channel(target)
        )
        self.stub = simulation_pb2_grpc.SimulationServiceStub(self.channel)
        self.token = token or find_token(self.server)
        self.metadata = (("authorization", f"Bearer {self.token}"),) if self.token else ()

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _call(self, method: Callable[..., Any], request: Any, timeout: float | None = 30) -> Any:
        try:
            return method(request, metadata=self.metadata, timeout=timeout)
        except grpc.RpcError as error:
            raise from_grpc(error) from None

    def list_models(self) -> list[pb.Model]:
        """The models you may run (built-in, yours, public ones), latest version of each."""
        return list(self._call(self.stub.ListModels, pb.ListModelsRequest()).models)

    models = list_models

    def get_model(self, model: str) -> pb.Model:
        """One model version: "name" (the latest) or "name@vN"."""
        return self._call(self.stub.GetModel, pb.GetModelRequest(model=model))

    def list_model_versions(self, name: str) -> list[pb.Model]:
        """Every version of a model, newest first."""
        request = pb.ListModelVersionsRequest(name=name)
        return list(self._call(self.stub.ListModelVersions, request).versions)

    def push_bundle(self, bundle: Bundle, name: str, *, public: bool = False) -> Pushed:
        """Registers the bundle as a version of model `name` (or finds that it is the latest
        one already: created False). Sends its sha256 alone first, and its files only if the
        server does not store that bundle yet."""
        request = pb.PushModelRequest(
            name=name, entry=bundle.entry, sha256=bundle.sha256, public=public
        )
        try:
            answer = self._call(self.stub.PushModel, request, timeout=PUSH_TIMEOUT_S)
            return Pushed(answer.model, answer.created, uploaded_bytes=0)
        except SimlabError as error:
            if error.code is not Code.NOT_FOUND:
                raise
        request.files.extend(
            pb.BundleFile(path=path, data=data, executable=path in bundle.executable)
            for path, data in sorted(bundle.files.items())
        )
        answer = self._call(self.stub.PushModel, request, timeout=PUSH_TIMEOUT_S)
        return Pushed(answer.model, answer.created, sum(len(f.data) for f in request.files))

    def push_model(
        self,
        code: str | os.PathLike[str] | Callable[..., Any],
        *,
        name: str | None = None,
        public: bool = False,
        include: Sequence[str] = (),
    ) -> pb.Model:
        """Pushes a file (with the modules beside it that it imports and the `include`
        globs) or a function (its source, never a pickle) as a model version. Pushing code
        identical to the latest version registers nothing and returns that version."""
        bundle, default_name = bundle_of(code, include)
        return self.push_bundle(bundle, name or default_name, public=public).model

    def run(
        self,
        code: str | os.PathLike[str] | Callable[..., Any],
        params: Mapping[str, Any] | None = None,
        *,
        shards: int = 1,
        seed: int = 0,
        name: str | None = None,
        args: Sequence[str] = (),
        wait: bool = False,
        rel_tol: float | None = None,
        abs_tol: float | None = None,
        confidence: float | None = None,
        min_blocks: int | None = None,
        two_stage: bool = False,
        no_cache: bool = False,
    ) -> pb.Job:
        """Pushes the code (see push_model) and runs that version (see submit): the job,
        finished when `wait`. `args` are a script's command-line arguments."""
        model = self.push_model(code, name=name)
        job = self.submit(
            f"{model.name}@v{model.version}",
            params or {},
            seed=seed,
            shards=shards,
            args=args,
            rel_tol=rel_tol,
            abs_tol=abs_tol,
            confidence=confidence,
            min_blocks=min_blocks,
            two_stage=two_stage,
            no_cache=no_cache,
        )
        return self.wait(job.job_id) if wait else job

    def submit(
        self,
        model: str,
        parameters: Mapping[str, Any],
        *,
        seed: int = 0,
        shards: int = 1,
        request_id: str | None = None,
        args: Sequence[str] = (),
        rel_tol: float | None = None,
        abs_tol: float | None = None,
        confidence: float | None = None,
        min_blocks: int | None = None,
        two_stage: bool = False,
        no_cache: bool = False,
    ) -> pb.Job:
        """Queues a run of "name" (the latest version) or "name@vN"; `args` are a script's
        command-line arguments. A fresh request_id makes retries of this call safe.

        With rel_tol or abs_tol the run stops at the first block prefix whose interval's
        half-width (at `confidence`, default 0.95) is at most max(abs_tol, rel_tol *
        |estimate|), after a pilot of `min_blocks` (default 10); the sample parameter is then
        the budget. `two_stage`: the pilot only sizes the run, and the interval comes from
        fresh blocks (no optional-stopping bias). A run identical to a finished one (same
        code, runtime, parameters, explicit seed and precision) is that run's result at once
        (job.cached_from), unless `no_cache`."""
        struct = struct_pb2.Struct()
        struct.update(dict(parameters))
        request = pb.SubmitJobRequest(
            model=model,
            parameters=struct,
            seed=seed,
            shards=shards,
            request_id=request_id or uuid.uuid4().hex,
            args=args,
            precision=make_precision(
                rel_tol=rel_tol,
                abs_tol=abs_tol,
                confidence=confidence,
                min_blocks=min_blocks,
                two_stage=two_stage or None,
            ),
            no_cache=no_cache,
        )
        return self._call(self.stub.SubmitJob, request).job

    def extend(
        self,
        job_id: str,
        *,
        samples: float | str = 0,
        rel_tol: float | None = None,
        abs_tol: float | None = None,
        confidence: float | None = None,
        min_blocks: int | None = None,
        two_stage: bool | None = None,
        shards: int = 0,
        no_cache: bool = False,
        request_id: str | None = None,
    ) -> pb.Job:
        """A new run of a finished one's model, parameters and seed that reuses its blocks and
        computes only the missing ones: `samples` the new budget (4e7 is fine; 0 keeps the
        run's), a precision target whose settings not given are the run's (a new rel_tol or
        abs_tol replaces both of its tolerances), `shards` (0: the run's). Its results equal a
        fresh run's bit for bit. A fresh request_id makes retries of this call safe."""
        keep = None
        if any(v is not None for v in (rel_tol, abs_tol, confidence, min_blocks, two_stage)):
            keep = self.get(job_id).precision
        request = pb.ExtendJobRequest(
            job_id=job_id,
            samples=sample_count(samples) if samples else 0,
            precision=make_precision(
                rel_tol=rel_tol,
                abs_tol=abs_tol,
                confidence=confidence,
                min_blocks=min_blocks,
                two_stage=two_stage,
                keep=keep,
            ),
            shards=shards,
            request_id=request_id or uuid.uuid4().hex,
            no_cache=no_cache,
        )
        return self._call(self.stub.ExtendJob, request).job

    def get(self, job_id: str) -> pb.Job:
        return self._call(self.stub.GetJob, pb.GetJobRequest(job_id=job_id))

    def list_jobs(
        self,
        model: str = "",
        states: list[pb.JobState] | None = None,
        page_size: int = 50,
        page_token: str = "",
        job_id_prefix: str = "",
        include_study_points: bool = False,
    ) -> tuple[list[pb.Job], str]:
        """A page of your jobs, newest first; filters: model, states, the start of the id.
        The points of studies are left out unless `include_study_points`."""
        request = pb.ListJobsRequest(
            model=model,
            states=states or [],
            page_size=page_size,
            page_token=page_token,
            job_id_prefix=job_id_prefix,
            include_study_points=include_study_points,
        )
        response = self._call(self.stub.ListJobs, request)
        return list(response.jobs), response.next_page_token

    def cancel(self, job_id: str) -> pb.Job:
        return self._call(self.stub.CancelJob, pb.CancelJobRequest(job_id=job_id))

    def watch(self, job_id: str, after_seq: int = 0) -> Iterator[pb.JobEvent]:
        """The job's state now, then every change until it ends. While the platform is
        unavailable (the gateway or the job store restarting) it reconnects with a growing
        delay, up to 5 s, and resumes after the last sequence number seen."""
        last = after_seq
        for attempt in stamina.retry_context(
            on=_unavailable, attempts=None, timeout=None, wait_max=5.0
        ):
            with attempt:
                try:
                    for event in self.stub.WatchJob(
                        pb.WatchJobRequest(job_id=job_id, after_seq=last),
                        metadata=self.metadata,
                    ):
                        last = event.seq
                        yield event
                    return
                except grpc.RpcError as error:
                    if error.code() == grpc.StatusCode.UNAVAILABLE:
                        raise
                    raise from_grpc(error) from None

    def wait(self, job_id: str, progress: bool = True) -> pb.Job:
        """Blocks until the job ends (with a live progress bar when `progress`), riding out
        restarts of the platform's services."""
        if progress:
            return follow(self, job_id)
        job = pb.Job()
        for event in self.watch(job_id):  # the first event is the job as it is now
            job = event.job
        return job

    def progress_history(self, job_id: str) -> list[pb.ProgressPoint]:
        """Every progress point recorded so far, oldest first."""
        request = pb.GetProgressHistoryRequest(job_id=job_id)
        return list(self._call(self.stub.GetProgressHistory, request).points)

    def artifacts(self, job_id: str) -> list[pb.Artifact]:
        return list(
            self._call(self.stub.ListArtifacts, pb.ListArtifactsRequest(job_id=job_id)).artifacts
        )

    def read(self, job_id: str, name: str) -> bytes:
        return b"".join(self._chunks(job_id, name))

    def _chunks(self, job_id: str, name: str) -> Iterator[bytes]:
        try:
            for chunk in self.stub.GetArtifact(
                pb.GetArtifactRequest(job_id=job_id, name=name), metadata=self.metadata
            ):
                yield chunk.data
        except grpc.RpcError as error:
            raise from_grpc(error) from None

    def download(self, job_id: str, name: str, dest: Path) -> Path:
        dest.parent.mkdir(parents=True, exist_ok=True)
        with dest.open("wb") as out:
            for data in self._chunks(job_id, name):
                out.write(data)
        return dest

    def results(self, job_id: str, out_dir: Path) -> list[Path]:
        """Downloads every artifact of the job into out_dir."""
        return [self.download(job_id, a.name, out_dir / a.name) for a in self.artifacts(job_id)]

    def logs(
        self, job_id: str, follow: bool = False, shard: int | None = None
    ) -> Iterator[pb.LogChunk]:
        """The workers' output: stored logs of a finished job; for a running one what was
        printed so far and, with `follow`, each new piece until the job ends."""
        request = pb.TailLogsRequest(job_id=job_id, follow=follow, shard=shard)
        try:
            yield from self.stub.TailLogs(request, metadata=self.metadata)
        except grpc.RpcError as error:
            raise from_grpc(error) from None

    def share(self, job_id: str, ttl_seconds: int = 0) -> pb.CreateShareLinkResponse:
        """A read-only link to the run, expiring after `ttl_seconds` (0: the server's default,
        30 days unless configured; SHARE_NEVER_EXPIRES: never). The token is only in this
        answer."""
        request = pb.CreateShareLinkRequest(job_id=job_id, ttl_seconds=ttl_seconds)
        return self._call(self.stub.CreateShareLink, request)

    def run_url(self, job_id: str) -> str:
        """The run page's address in the web UI."""
        return f"{self._base_url()}/runs/{job_id}"

    def login_link(self) -> str:
        """A one-time link (valid two minutes) that signs a browser in as this client's user."""
        request = urllib.request.Request(
            f"{self._base_url()}/auth/login-link",
            method="POST",
            headers=dict(self.metadata),
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return str(json.loads(response.read())["url"])
        except urllib.error.HTTPError as error:
            message = error.read().decode(errors="replace").strip() or error.reason
            code = HTTP_CODES.get(error.code, Code.UNAVAILABLE)
            raise SimlabError(code, f"no login link: {message}") from None
        except urllib.error.URLError as error:
            raise SimlabError(Code.UNAVAILABLE, f"{self.server}: {error.reason}") from None

    def _base_url(self) -> str:
        base = self.server if "//" in self.server else f"http://{self.server}"
        return base.rstrip("/")

    def share_url(self, job_id: str, token: str) -> str:
        """The run page's address that opens with the share token."""
        return f"{self.run_url(job_id)}?share={token}"

    def share_links(self, job_id: str = "", study_id: str = "") -> list[pb.ShareLink]:
        """The links of one run or (study_id) of one study."""
        request = pb.ListShareLinksRequest(job_id=job_id, study_id=study_id)
        return list(self._call(self.stub.ListShareLinks, request).links)

    def revoke_share_link(self, link_id: str) -> pb.ShareLink:
        return self._call(self.stub.RevokeShareLink, pb.RevokeShareLinkRequest(link_id=link_id))

    def summary(self, job_id: str) -> dict[str, Any]:
        """The numbers of a finished run (summary.json also records its inputs)."""
        return dict(json.loads(self.read(job_id, "summary.json"))["summary"])

    def data(self, job_id: str) -> dict[str, np.ndarray]:
        with np.load(io.BytesIO(self.read(job_id, "data.npz"))) as npz:
            return {name: npz[name] for name in npz.files}

    def frame(self, job_id: str, name: str = "data.csv") -> Any:
        """A CSV result (data.csv, convergence.csv) as a pandas DataFrame. pandas is an extra:
        `pip install 'simlab-client[pandas]'`."""
        pandas = pandas_module("Client.frame")
        return pandas.read_csv(io.BytesIO(self.read(job_id, name)))

    def run_handle(self, job_id: str) -> Run:
        """A handle of the run: .wait(), .summary, .data, and a table of itself in Jupyter."""
        return Run(self, self.get(job_id))

    def runs_frame(
        self,
        model: str | None = None,
        states: Sequence[str | pb.JobState] | None = None,
        limit: int = 200,
        include_study_points: bool = False,
    ) -> Any:
        """Your latest `limit` runs as a DataFrame, newest first: job_id, model, state,
        created, each parameter, estimate and stderr (of the primary output), each number of
        the summary. `states` as names ("succeeded") or pb.JobState values. Needs pandas."""
        try:
            wanted = [job_state(s) if isinstance(s, str) else s for s in states or ()]
        except ValueError as error:
            raise ValueError(f"states: {error}") from None
        jobs: list[pb.Job] = []
        token = ""
        while len(jobs) < limit:
            page, token = self.list_jobs(
                model or "", wanted, min(limit - len(jobs), JOBS_PAGE), token,
                include_study_points=include_study_points,
            )  # fmt: skip
            jobs += page
            if not token:
                break
        rows, columns = run_rows(jobs[:limit])
        return frame(rows, columns, "Client.runs_frame")

    # ---- studies ------------------------------------------------------------------------

    def study(
        self,
        model: str,
        params: Mapping[str, Any] | None = None,
        sweep: Mapping[str, Axis] | None = None,
        *,
        sample: tuple[str, int] | None = None,
        crn: bool = False,
        seed: int = 0,
        shards: int = 1,
        rel_tol: float | None = None,
        abs_tol: float | None = None,
        confidence: float | None = None,
        min_blocks: int | None = None,
        two_stage: bool = False,
        no_cache: bool = False,
        title: str = "",
        request_id: str | None = None,
    ) -> Study:
        """Submits a study of "name" or "name@vN" (every point runs the same version):
        `params` fixed at every point, `sweep` the swept parameters, each a list (or NumPy
        array) of values or simlab.range(start, stop, count) / simlab.logrange(...). By
        default every combination runs (a grid, the first parameter slowest);
        `sample=("sobol", 256)` or `("random", 100)` draws that many points within ranges
        given without a count. `crn`: every point uses the study's seed (common random
        numbers: differences between points are far more precise); otherwise each point gets
        its own seed derived from `seed` (0: random). Precision settings and `no_cache` apply
        to each point, as in submit(). A bad sweep raises simlab.studyspec.StudySpecError (a
        ValueError) naming the parameter. A fresh request_id makes retries safe."""
        spec = build_spec(
            model,
            params=params,
            sweep=sweep or {},
            sample=sample,
            crn=crn,
            seed=seed,
            shards=shards,
            precision=make_precision(
                rel_tol=rel_tol,
                abs_tol=abs_tol,
                confidence=confidence,
                min_blocks=min_blocks,
                two_stage=two_stage or None,
            ),
            no_cache=no_cache,
            title=title,
        )
        return self.submit_study(spec, request_id)

    def submit_study(self, spec: pb.StudySpec, request_id: str | None = None) -> Study:
        """Submits a StudySpec as it is (see study()). A fresh request_id makes retries of this
        call safe."""
        request = pb.SubmitStudyRequest(spec=spec, request_id=request_id or uuid.uuid4().hex)
        return Study(self, self._call(self.stub.SubmitStudy, request).study)

    def get_study(self, study_id: str) -> Study:
        return Study(self, self._call(self.stub.GetStudy, pb.GetStudyRequest(study_id=study_id)))

    def list_studies(self, page_size: int = 50, page_token: str = "") -> tuple[list[pb.Study], str]:
        """A page of your studies, newest first, and the next page's token ("" at the end)."""
        request = pb.ListStudiesRequest(page_size=page_size, page_token=page_token)
        response = self._call(self.stub.ListStudies, request)
        return list(response.studies), response.next_page_token

    def studies(self, limit: int = 50) -> list[Study]:
        """Your latest `limit` studies, newest first."""
        found: list[pb.Study] = []
        token = ""
        while len(found) < limit:
            page, token = self.list_studies(limit - len(found), token)
            found += page
            if not token:
                break
        return [Study(self, study) for study in found[:limit]]

    def study_points(self, study_id: str) -> Iterator[pb.StudyPoint]:
        """Every point of the study in index order, fetched a page at a time."""
        token = ""
        while True:
            request = pb.ListStudyPointsRequest(
                study_id=study_id, page_size=STUDY_POINTS_PAGE, page_token=token
            )
            response = self._call(self.stub.ListStudyPoints, request)
            yield from response.points
            token = response.next_page_token
            if not token:
                return

    def watch_study(self, study_id: str) -> Iterator[pb.StudyEvent]:
        """The study with every point (snapshot events), then the points that change, until it
        ends. While the platform is unavailable (the gateway or the job store restarting) it
        reconnects with a growing delay, up to 5 s; a reconnected watch starts with a snapshot
        again (a point's seq tells a newer state from one already seen)."""
        for attempt in stamina.retry_context(
            on=_reconnect, attempts=None, timeout=None, wait_max=5.0
        ):
            with attempt:
                ended = False
                try:
                    for event in self.stub.WatchStudy(
                        pb.WatchStudyRequest(study_id=study_id), metadata=self.metadata
                    ):
                        ended = event.study.state in STUDY_ENDED
                        yield event
                except grpc.RpcError as error:
                    if error.code() == grpc.StatusCode.UNAVAILABLE:
                        raise
                    raise from_grpc(error) from None
                if not ended:
                    raise _WatchCut(study_id)

    def cancel_study(self, study_id: str) -> pb.Study:
        """Cancels every point still queued or running."""
        return self._call(self.stub.CancelStudy, pb.CancelStudyRequest(study_id=study_id))

    def compare_points(self, study_id: str, a: int, b: int) -> Comparison:
        """Point b minus point a of a study (the primary output, both finished), with the
        standard error of the difference from their paired blocks."""
        request = pb.ComparePointsRequest(study_id=study_id, a=a, b=b)
        return Comparison.of(self._call(self.stub.ComparePoints, request))

    def share_study(self, study_id: str, ttl_seconds: int = 0) -> pb.CreateShareLinkResponse:
        """A read-only link to the study and its points' runs (the expiry as in share())."""
        request = pb.CreateShareLinkRequest(study_id=study_id, ttl_seconds=ttl_seconds)
        return self._call(self.stub.CreateShareLink, request)

    def study_url(self, study_id: str) -> str:
        """The study page's address in the web UI."""
        return f"{self._base_url()}/studies/{study_id}"

    def study_share_url(self, study_id: str, token: str) -> str:
        return f"{self.study_url(study_id)}?share={token}"


__all__ = [
    "DEFAULT_CONFIDENCE",
    "TERMINAL",
    "Client",
    "Comparison",
    "Run",
    "SimlabError",
    "Study",
    "bundle_of",
    "find_token",
    "job_to_dict",
    "make_precision",
    "model_name",
    "sample_count",
    "state_name",
    "study_to_dict",
]
