"""The worker's configuration, from SIMLAB_WORKER_* variables; a missing or malformed one stops
the worker before it does anything (exit 2).

- JOB_ID                the job to work on
- SHARD                 this worker's shard index; when unset, Kubernetes' JOB_COMPLETION_INDEX
                        (an Indexed Job gives each pod its index there)
- JOBSTORE              host:port of the job store's gRPC server
- TOKEN_FILE or TOKEN   the worker's token (bound to its job, shard and launch; it expires):
                        a file the runner renews (read again whenever it changes), or the
                        token itself (a test's or a one-off run's: it is not renewed)
- REPORT_INTERVAL_S     report finished blocks at most this often (default 0.25)
- RETRY_S               keep retrying a failing (not refusing) job store this long (default 60)
- RUNTIME               what this worker runs on, e.g. its image (default "local"); recorded on
                        jobs and registered models with the Python, NumPy and SciPy versions

The worker holds no object-store settings: it reads the job's code and writes its results
through the job store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from simlab.common.settings import Env, SettingsError

PREFIX = "SIMLAB_WORKER"


@dataclass(frozen=True)
class Settings:
    job_id: str
    shard: int
    jobstore: str
    # As read at start; from token_file, when set, renewed tokens follow.
    token: str = field(repr=False)
    token_file: Path | None
    report_interval_s: float
    retry_s: float
    runtime: str

    @staticmethod
    def from_env(environ: Mapping[str, str] | None = None) -> Settings:
        env = Env(PREFIX, environ)
        return Settings(
            job_id=env.str("JOB_ID"),
            shard=_shard(env),
            jobstore=env.str("JOBSTORE"),
            token=_token(env),
            token_file=Path(env.str("TOKEN_FILE"))
            if env.environ.get(env.key("TOKEN_FILE"))
            else None,
            report_interval_s=env.float("REPORT_INTERVAL_S", 0.25),
            retry_s=env.float("RETRY_S", 60.0),
            runtime=env.str("RUNTIME", "local"),
        )


def _shard(env: Env) -> int:
    if env.environ.get(env.key("SHARD")):
        shard = env.int("SHARD")
    else:
        index = Env("JOB", env.environ)
        if not index.environ.get(index.key("COMPLETION_INDEX")):
            raise SettingsError(f"{env.key('SHARD')} is not set (nor JOB_COMPLETION_INDEX)")
        shard = index.int("COMPLETION_INDEX")
    if shard < 0:
        raise SettingsError(f"the shard index must be >= 0, got {shard}")
    return shard


def _token(env: Env) -> str:
    if not env.environ.get(env.key("TOKEN_FILE")):
        if env.environ.get(env.key("TOKEN")):
            return env.str("TOKEN")
        raise SettingsError(f"{env.key('TOKEN')} or {env.key('TOKEN_FILE')} must be set")
    path = Path(env.str("TOKEN_FILE"))
    try:
        token = path.read_text().strip()
    except OSError as exc:
        raise SettingsError(f"{env.key('TOKEN_FILE')}: cannot read {path}: {exc}") from None
    if not token:
        raise SettingsError(f"{env.key('TOKEN_FILE')}: {path} is empty")
    return token
