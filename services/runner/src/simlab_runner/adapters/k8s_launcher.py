"""Runs each simulation as one Indexed Kubernetes Job (one pod per shard), with the official
client. Jobs and pods are watched (resuming from the last resourceVersion, relisting when it
is too old, backing off on errors); what Kubernetes says becomes a reason a user reads."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from simlab.v1 import simulation_pb2 as pb
from simlab_runner.adapters.worker_tokens import WorkerTokens
from simlab_runner.core.manifests import (
    JOB_ID_LABEL,
    KubeSettings,
    indexed_job,
    job_name,
    owned_by,
    secret_name,
    selector,
    token_data,
    token_secret,
)
from simlab_runner.core.pod_status import explain_pod, job_complete, job_failure, shard_of
from simlab_runner.core.ports import FailureHandler, LiveLog, LogSink

log = logging.getLogger("runner")
# How long a pod-log follower waits for a piece to be published before giving up on it.
PUBLISH_WAIT_S = 30.0
# A Job's pods are Kubernetes' to retry within the one Job the runner creates: one attempt.
ATTEMPT = 1
# Pod logs followed at once when the launcher is not told (the runner passes its worker cap).
DEFAULT_LOG_FOLLOWERS = 64


class FollowerPool:
    """At most `size` daemon threads, each following one pod's log at a time (the client's
    follow is a blocking read); a pod beyond them waits for one to be free. Daemon threads:
    a follow blocks until its pod ends, and must not hold the runner's exit."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.tasks: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self.threads: list[threading.Thread] = []

    def submit(self, task: Callable[[], None]) -> None:
        self.tasks.put(task)
        if len(self.threads) < self.size:
            thread = threading.Thread(
                target=self._work, name=f"pod-logs-{len(self.threads)}", daemon=True
            )
            thread.start()
            self.threads.append(thread)

    def _work(self) -> None:
        while True:
            self.tasks.get()()


class KubernetesLauncher:
    def __init__(
        self,
        settings: KubeSettings,
        api: client.ApiClient,
        on_failure: FailureHandler,
        store_log: LogSink,
        live_log: LiveLog,
        tokens: WorkerTokens,
        unschedulable_grace_s: float = 120.0,
        max_log_followers: int = DEFAULT_LOG_FOLLOWERS,
    ) -> None:
        self.settings = settings
        self.api = api
        self.batch = client.BatchV1Api(api)
        self.core = client.CoreV1Api(api)
        self.on_failure = on_failure
        self.store_log = store_log
        self.live_log = live_log
        self.tokens = tokens
        # job_id -> shards: the jobs whose tokens are renewed (launched or resumed, not
        # stopped or forgotten).
        self.running: dict[str, int] = {}
        self._renewing: asyncio.Task[None] | None = None
        self.followed: set[str] = set()  # pods whose log is being (or was) followed
        self.unschedulable_grace_s = unschedulable_grace_s
        self.stopping: dict[str, asyncio.Event] = {}
        self.reported: set[str] = set()
        self.last_problem: dict[str, str] = {}
        self.logs_saved: set[str] = set()
        self.unschedulable_since: dict[str, float] = {}
        self._closing = threading.Event()
        self._threads: list[threading.Thread] = []
        self._events: asyncio.Queue[tuple[str, str, dict[str, Any]]] = asyncio.Queue()
        self._consumer: asyncio.Task[None] | None = None
        self._log_followers = FollowerPool(max_log_followers)

    # ---- the Launcher interface --------------------------------------------------------

    def _tokens(self, job_id: str, shards: int) -> dict[int, str]:
        return {shard: self.tokens.mint(job_id, shard, ATTEMPT) for shard in range(shards)}

    def _keep_renewed(self, job: pb.Job) -> None:
        self.running[job.job_id] = job.shards
        if self._renewing is None:
            self._renewing = asyncio.create_task(self._renew_tokens())

    async def _renew(self, job_id: str, shards: int) -> None:
        """Patches fresh tokens into the job's Secret (the kubelet updates the pods' files)."""
        body = {"stringData": token_data(self._tokens(job_id, shards))}
        try:
            await asyncio.to_thread(
                self.core.patch_namespaced_secret,
                secret_name(job_id),
                self.settings.namespace,
                body,
            )
        except ApiException as error:
            if error.status != 404:
                raise
            self.running.pop(job_id, None)  # gone with its Job

    async def _renew_tokens(self) -> None:
        while True:
            await asyncio.sleep(self.tokens.renew_every_s)
            for job_id, shards in list(self.running.items()):
                try:
                    await self._renew(job_id, shards)
                except Exception:
                    log.exception("renewing workers' tokens failed", extra={"job_id": job_id})

    async def launch(self, job: pb.Job, parallelism: int) -> None:
        namespace = self.settings.namespace
        secret = token_secret(job, self._tokens(job.job_id, job.shards), self.settings)
        await _create(self.core.create_namespaced_secret, namespace, secret)
        self._keep_renewed(job)
        created = await _create(
            self.batch.create_namespaced_job,
            namespace,
            indexed_job(job, self.settings, parallelism),
        )
        if created is None:  # 409: launched before (a redelivered event)
            return
        job_object = self.api.sanitize_for_serialization(created)
        with contextlib.suppress(ApiException):
            await asyncio.to_thread(
                self.core.patch_namespaced_secret,
                secret_name(job.job_id),
                namespace,
                owned_by(job_object),
            )
        log.info("kubernetes job created", extra={"job_id": job.job_id, "shards": job.shards})

    async def resume(self, job: pb.Job, parallelism: int) -> str | None:
        try:
            existing = await asyncio.to_thread(
                self.batch.read_namespaced_job, job_name(job.job_id), self.settings.namespace
            )
        except ApiException as error:
            if error.status != 404:
                raise
            if job.state == pb.JOB_STATE_LAUNCHING:
                await self.launch(job, parallelism)  # the runner died between record and create
                return None
            return f"Kubernetes Job {job_name(job.job_id)} was deleted while the runner was away"
        failure = job_failure(self.api.sanitize_for_serialization(existing))
        if failure is None:
            # The tokens may have expired while the runner was away.
            await self._renew(job.job_id, job.shards)
            self._keep_renewed(job)
        return failure

    async def stop(self, job_id: str) -> None:
        """Deletes the Job in the foreground and returns once Kubernetes has removed it,
        that is once its pods are gone."""
        gone = self.stopping.setdefault(job_id, asyncio.Event())
        self.running.pop(job_id, None)
        try:
            await asyncio.to_thread(
                self.batch.delete_namespaced_job,
                job_name(job_id),
                self.settings.namespace,
                propagation_policy="Foreground",
            )
        except ApiException as error:
            if error.status != 404:
                raise
            gone.set()
        # The watch sets `gone`; a read confirms it in case that event was missed.
        while not gone.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(gone.wait(), timeout=5)
            if not await self._exists(job_id):
                gone.set()
        self.stopping.pop(job_id, None)

    async def adopt(self) -> dict[str, set[int]]:
        self._start_watches()
        jobs = await asyncio.to_thread(
            self.batch.list_namespaced_job, self.settings.namespace, label_selector=selector()
        )
        found = self.api.sanitize_for_serialization(jobs)["items"]
        return {
            item["metadata"]["labels"][JOB_ID_LABEL]: set()
            for item in found
            if not item["metadata"].get("deletionTimestamp")
        }

    def live_shards(self, job_id: str) -> int:
        # A Job is complete or failed once its pods have ended (a pod that lingers is the
        # cluster's to bound, with the namespace's ResourceQuota).
        return 0

    async def forget(self, job_id: str) -> None:
        # ttlSecondsAfterFinished removes finished Jobs; the Secret goes with its Job.
        self.last_problem.pop(job_id, None)
        self.running.pop(job_id, None)

    async def close(self, stop_workers: bool = False) -> None:
        # Pods are the cluster's: they go on without the runner.
        self._closing.set()
        if self._renewing is not None:
            self._renewing.cancel()
        if self._consumer is not None:
            self._consumer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._consumer

    # ---- watching ----------------------------------------------------------------------

    async def _exists(self, job_id: str) -> bool:
        try:
            await asyncio.to_thread(
                self.batch.read_namespaced_job, job_name(job_id), self.settings.namespace
            )
        except ApiException as error:
            if error.status == 404:
                return False
            raise
        return True

    def _start_watches(self) -> None:
        # The official client blocks, so each watch runs in a thread and hands events to the
        # loop, and pod logs are followed in a bounded pool of threads (FollowerPool).
        # kubernetes-asyncio was weighed (issue 10) and not taken: the list/watch/relist loop
        # here would stay the same, while its aiohttp transport changes timeouts, errors, TLS
        # and token refresh under code that only a real cluster tests (tests/k8s), and the
        # devstack and those tests would keep the official client: two clients for one API.
        if self._threads:
            return
        loop = asyncio.get_running_loop()
        for kind, lister in (
            ("job", self.batch.list_namespaced_job),
            ("pod", self.core.list_namespaced_pod),
        ):
            thread = threading.Thread(
                target=self._watch, args=(kind, lister, loop), name=f"watch-{kind}s", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        self._consumer = asyncio.create_task(self._consume())

    def _watch(
        self, kind: str, lister: Callable[..., Any], loop: asyncio.AbstractEventLoop
    ) -> None:
        """List, then watch from that resourceVersion; relist when it is too old (410)."""
        backoff = 0.5
        resource_version: str | None = None
        while not self._closing.is_set():
            try:
                if resource_version is None:
                    listed = lister(self.settings.namespace, label_selector=selector())
                    resource_version = listed.metadata.resource_version
                    for item in listed.items:
                        self._emit(loop, kind, "LISTED", item)
                stream = watch.Watch().stream(
                    lister,
                    self.settings.namespace,
                    label_selector=selector(),
                    resource_version=resource_version,
                    timeout_seconds=30,
                )
                for event in stream:
                    resource_version = event["object"].metadata.resource_version
                    self._emit(loop, kind, event["type"], event["object"])
                    if self._closing.is_set():
                        return
                backoff = 0.5
            except ApiException as error:
                if error.status == 410:
                    resource_version = None
                    continue
                log.warning("watching %ss failed: %s; retrying", kind, error.reason)
                time.sleep(backoff)
                backoff = min(backoff * 2, 30)
            except Exception as error:  # the connection dropped, the server restarted, ...
                log.warning("watching %ss failed: %s; retrying", kind, error)
                time.sleep(backoff)
                backoff = min(backoff * 2, 30)

    def _emit(self, loop: asyncio.AbstractEventLoop, kind: str, type_: str, obj: Any) -> None:
        data = self.api.sanitize_for_serialization(obj)
        loop.call_soon_threadsafe(self._events.put_nowait, (kind, type_, data))

    async def _consume(self) -> None:
        while True:
            kind, type_, data = await self._events.get()
            try:
                if kind == "job":
                    await self._on_job(type_, data)
                else:
                    await self._on_pod(type_, data)
            except Exception:
                log.exception("handling a %s event failed", kind)

    async def _on_job(self, type_: str, job_object: dict[str, Any]) -> None:
        job_id = job_object["metadata"]["labels"][JOB_ID_LABEL]
        if type_ == "DELETED":
            if job_id in self.stopping:
                self.stopping[job_id].set()
            elif not job_complete(job_object) and not job_failure(job_object):
                await self._fail(
                    job_id, f"Kubernetes Job {job_name(job_id)} was deleted outside Simlab"
                )
            return
        failure = job_failure(job_object)
        if failure or job_complete(job_object):
            self.running.pop(job_id, None)  # its workers need no more tokens
        if failure:
            problem = self.last_problem.get(job_id)
            await self._fail(job_id, f"{problem}; {failure}" if problem else failure)

    async def _on_pod(self, type_: str, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        job_id = meta["labels"].get(JOB_ID_LABEL)
        if job_id is None:
            return
        if type_ == "DELETED":
            self.followed.discard(meta["name"])
            self.logs_saved.discard(meta["name"])
            return
        problem = explain_pod(pod)
        if problem is not None:
            self.last_problem[job_id] = problem.message
            if problem.fatal:
                await self._fail(job_id, problem.message)
            elif "cannot be scheduled" in problem.message:
                first = self.unschedulable_since.setdefault(meta["name"], time.monotonic())
                if time.monotonic() - first > self.unschedulable_grace_s:
                    await self._fail(job_id, problem.message)
        else:
            self.unschedulable_since.pop(meta["name"], None)
        phase = (pod.get("status") or {}).get("phase")
        if phase == "Running" and meta["name"] not in self.followed:
            self.followed.add(meta["name"])
            self._follow(job_id, pod, adopted=type_ == "LISTED")
        if phase in ("Succeeded", "Failed") and meta["name"] not in self.logs_saved:
            self.logs_saved.add(meta["name"])
            shard = shard_of(pod)
            data = await self._pod_log(meta["name"])
            if shard is not None and data is not None:
                await self.store_log(job_id, shard, data)

    def _follow(self, job_id: str, pod: dict[str, Any], adopted: bool) -> None:
        """Ships the pod's output to the live log as Kubernetes streams it, in a thread of the
        follower pool. A pod found running when the runner (re)started is followed from then
        on: what it printed before is in the log stored when it ends."""
        shard = shard_of(pod)
        if shard is None:
            return
        loop = asyncio.get_running_loop()
        name = pod["metadata"]["name"]

        def publish(coroutine: Any) -> None:
            asyncio.run_coroutine_threadsafe(coroutine, loop).result(PUBLISH_WAIT_S)

        def follow() -> None:
            if self._closing.is_set():
                return
            try:
                # Unparsed (_preload_content=False): a urllib3 response, read as it comes.
                response: Any = self.core.read_namespaced_pod_log(
                    name,
                    self.settings.namespace,
                    follow=True,
                    tail_lines=0 if adopted else None,
                    _preload_content=False,
                )
                try:
                    for data in response.stream(64 * 1024):
                        if self._closing.is_set():
                            return
                        publish(self.live_log.publish(job_id, shard, data))
                finally:
                    response.release_conn()
                publish(self.live_log.end(job_id, shard))
            except Exception as error:  # the pod went away, the runner is stopping, ...
                log.info(
                    "stopped following a pod's log",
                    extra={"job_id": job_id, "pod": name, "error": str(error)},
                )

        self._log_followers.submit(follow)

    async def _pod_log(self, pod_name: str) -> bytes | None:
        try:
            text = await asyncio.to_thread(
                self.core.read_namespaced_pod_log, pod_name, self.settings.namespace
            )
        except ApiException:
            return None
        return str(text).encode()

    async def _fail(self, job_id: str, message: str) -> None:
        if job_id in self.reported or job_id in self.stopping:
            return
        self.reported.add(job_id)
        try:
            await self.on_failure(job_id, message, "")
        except Exception:
            # Not recorded (the job store stayed away): the next event about this Job, or the
            # reconciliation at the runner's next start, reports it again.
            self.reported.discard(job_id)
            raise


async def _create(create: Callable[..., Any], namespace: str, body: dict[str, Any]) -> Any:
    """Creates the object; None when it exists already (409): creating is idempotent."""
    try:
        return await asyncio.to_thread(create, namespace, body)
    except ApiException as error:
        if error.status == 409:
            return None
        raise
