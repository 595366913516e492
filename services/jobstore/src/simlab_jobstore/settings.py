"""Settings from SIMLAB_JOBSTORE_* variables; a missing or malformed one stops the start.

LOG_LEVEL: DEBUG, INFO (default), WARNING or ERROR, as for every service.
OBJECTS_DIR, or S3_* / SIMLAB_S3_*: the object store, where the job store reads code bundles
and commits workers' results for them (see simlab.adapters.objectstore_factory).
MAX_ACTIVE_JOBS_PER_USER (1000), MAX_ACTIVE_STUDY_POINTS_PER_USER (50000),
MAX_PRESETS_PER_USER (200), MAX_SHARE_LINKS_PER_USER (500): what one user may hold at once (see
core.quotas). MAX_STUDY_POINTS (10000): how many points one study may have.
SHARE_LINK_DEFAULT_TTL_DAYS: when a share link expires if its creator did not say (default
30; a link that never expires must be asked for explicitly)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from simlab.adapters.objectstore_factory import ObjectStoreSettings, object_store_settings
from simlab.common.settings import Env, SettingsError

from .core.quotas import Quotas
from .core.shares import DAY_S, DEFAULT_TTL_DAYS, MAX_TTL_S
from .core.studies import DEFAULT_MAX_POINTS

PREFIX = "SIMLAB_JOBSTORE"
# Test hook, never for production: SIMLAB_JOBSTORE_FAULT=kill-after-commit makes the process
# SIGKILL itself right after its first commit that wrote an outbox event, before the relay
# publishes it, so tests can prove the outbox delivers across a crash.
KILL_AFTER_COMMIT = "kill-after-commit"
FAULTS = ("", KILL_AFTER_COMMIT)


@dataclass(frozen=True)
class Settings:
    database_url: str
    nats_url: str
    listen: str
    service_token: str
    job_token_secret: str
    pool_size: int
    # On SIGTERM: how long to keep serving while saying NOT_SERVING, so that load balancers
    # (a Kubernetes Service's endpoints) stop sending new calls first ...
    drain_delay_s: float
    # ... then how long calls in flight may take to finish before they are cancelled.
    drain_grace_s: float
    fault: str
    log_level: str
    object_store: ObjectStoreSettings
    quotas: Quotas
    max_study_points: int
    share_link_default_ttl_s: int

    @staticmethod
    def from_env(environ: Mapping[str, str] | None = None) -> Settings:
        env = Env(PREFIX, environ)
        settings = Settings(
            database_url=env.str("DATABASE_URL"),
            nats_url=env.str("NATS_URL"),
            listen=env.address("LISTEN"),
            service_token=env.str("SERVICE_TOKEN"),
            job_token_secret=env.str("JOB_TOKEN_SECRET"),
            pool_size=env.int("POOL_SIZE", 10, minimum=1),
            drain_delay_s=env.float("DRAIN_DELAY_S", 0.0, minimum=0),
            drain_grace_s=env.float("DRAIN_GRACE_S", 20.0, minimum=0),
            fault=env.environ.get(env.key("FAULT"), ""),
            log_level=env.log_level(),
            object_store=object_store_settings(env),
            quotas=Quotas(
                active_jobs=env.int("MAX_ACTIVE_JOBS_PER_USER", Quotas.active_jobs, minimum=1),
                active_study_points=env.int(
                    "MAX_ACTIVE_STUDY_POINTS_PER_USER", Quotas.active_study_points, minimum=1
                ),
                presets=env.int("MAX_PRESETS_PER_USER", Quotas.presets, minimum=1),
                share_links=env.int("MAX_SHARE_LINKS_PER_USER", Quotas.share_links, minimum=1),
            ),
            max_study_points=env.int("MAX_STUDY_POINTS", DEFAULT_MAX_POINTS, minimum=1),
            share_link_default_ttl_s=_share_link_default_ttl_s(env),
        )
        if settings.fault not in FAULTS:
            raise SettingsError(f"{env.key('FAULT')} must be {KILL_AFTER_COMMIT!r} or unset")
        return settings


def _share_link_default_ttl_s(env: Env) -> int:
    name = "SHARE_LINK_DEFAULT_TTL_DAYS"
    days = env.float(name, float(DEFAULT_TTL_DAYS))
    if not 0 < days * DAY_S <= MAX_TTL_S:
        raise SettingsError(
            f"{env.key(name)} must be more than 0 and at most {MAX_TTL_S // DAY_S} days,"
            f" got {days:g}"
        )
    return round(days * DAY_S)
