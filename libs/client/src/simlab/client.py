"""The Python client of Simlab: what the CLI is built on, and what a notebook uses.

from simlab.client import Client
sim = Client()                        # SIMLAB_SERVER, else http://127.0.0.1:8080
job = sim.submit("pi", {"samples": 10_000_000}, shards=4, seed=7)
job = sim.wait(job.job_id)            # a live progress bar; returns the finished job
sim.summary(job.job_id)               # {'estimate': 3.1415..., 'stderr': ...}
sim.data(job.job_id)                  # {'column': numpy array, ...}
"""

from __future__ import annotations

import io
import json
import os
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import grpc
import numpy as np
import stamina
from google.protobuf import struct_pb2

from simlab.common.errors import SimlabError
from simlab.progress import follow
from simlab.states import state_name
from simlab.transport.errors import from_grpc
from simlab.transport.structs import struct_to_dict, whole_numbers
from simlab.v1 import simulation_pb2 as pb
from simlab.v1 import simulation_pb2_grpc

DEFAULT_SERVER = "http://127.0.0.1:8080"
TERMINAL = frozenset({pb.JOB_STATE_SUCCEEDED, pb.JOB_STATE_FAILED, pb.JOB_STATE_CANCELLED})


def _unavailable(error: Exception) -> bool:
    return isinstance(error, grpc.RpcError) and error.code() == grpc.StatusCode.UNAVAILABLE


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
        },
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
        token = token or os.environ.get("SIMLAB_TOKEN")
        self.metadata = (("authorization", f"Bearer {token}"),) if token else ()

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

    def models(self) -> list[pb.Model]:
        return list(self._call(self.stub.ListModels, pb.ListModelsRequest()).models)

    def submit(
        self,
        model: str,
        parameters: Mapping[str, Any],
        *,
        seed: int = 0,
        shards: int = 1,
        request_id: str | None = None,
    ) -> pb.Job:
        """Queues a run. A fresh request_id makes retries of this call safe (idempotent)."""
        struct = struct_pb2.Struct()
        struct.update(dict(parameters))
        request = pb.SubmitJobRequest(
            model=model,
            parameters=struct,
            seed=seed,
            shards=shards,
            request_id=request_id or uuid.uuid4().hex,
        )
        return self._call(self.stub.SubmitJob, request).job

    def get(self, job_id: str) -> pb.Job:
        return self._call(self.stub.GetJob, pb.GetJobRequest(job_id=job_id))

    def list_jobs(
        self,
        model: str = "",
        states: list[pb.JobState] | None = None,
        page_size: int = 50,
        page_token: str = "",
        job_id_prefix: str = "",
    ) -> tuple[list[pb.Job], str]:
        """A page of your jobs, newest first; filters: model, states, the start of the id."""
        request = pb.ListJobsRequest(
            model=model,
            states=states or [],
            page_size=page_size,
            page_token=page_token,
            job_id_prefix=job_id_prefix,
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
        """A read-only link to the run (0: no expiry). The token is only in this answer."""
        request = pb.CreateShareLinkRequest(job_id=job_id, ttl_seconds=ttl_seconds)
        return self._call(self.stub.CreateShareLink, request)

    def share_url(self, job_id: str, token: str) -> str:
        """The run page's address that opens with the share token."""
        base = self.server if "//" in self.server else f"http://{self.server}"
        return f"{base.rstrip('/')}/runs/{job_id}?share={token}"

    def share_links(self, job_id: str) -> list[pb.ShareLink]:
        request = pb.ListShareLinksRequest(job_id=job_id)
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
        try:
            import pandas  # optional: only this method needs it
        except ImportError:
            raise ImportError(
                "Client.frame needs pandas: pip install 'simlab-client[pandas]'"
            ) from None
        return pandas.read_csv(io.BytesIO(self.read(job_id, name)))


__all__ = ["Client", "SimlabError", "job_to_dict", "state_name"]
