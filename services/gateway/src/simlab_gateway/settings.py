"""The gateway's configuration, from SIMLAB_GATEWAY_* variables; a missing or malformed one
stops the gateway before it does anything.

- LISTEN             host:port of the public port: the API (gRPC, gRPC-Web, Connect), downloads
                     and the web UI (default 127.0.0.1:8080)
- JOBSTORE           host:port of the job store's gRPC server
- SERVICE_TOKEN      the platform's token toward the job store
- NATS_URL           the event bus
- TOKENS             token=user,...: who may call the API (split at the last '=', so base64
                     tokens may end in '='); required: nobody is signed in without a token
- SESSION_SECRET     signs browser sign-in links and session cookies (32+ characters, the
                     same in every gateway process); unset: browsers cannot sign in
- ALLOWED_HOSTS      host names (port ignored) that requests may address, comma-separated,
                     or * for any (default localhost,127.0.0.1,::1 and the LISTEN host): other
                     Host headers are refused before routing (DNS rebinding)
- MAX_SHARDS         the largest shard count a submission may ask for (default 64; a study's,
                     for each of its points)
- MAX_STUDY_POINTS   the most points a study may have (default 10,000); beyond it
                     INVALID_ARGUMENT naming the spec's field
- AUTHORS            who may push models: comma-separated users, or * for everyone signed in
                     (default *); share links never may
- MAX_BUNDLE_BYTES   the largest pushed code, all its files together (default 20 MiB)
- REGISTRATION_TIMEOUT_S  how long a push waits for the sandboxed registration of its code
                     (default 300)
- JOBSTORE_RETRY_S   how long a call to a restarting job store is retried (default 5: a user is
                     waiting)
- MAX_STREAMS_PER_USER  open WatchJob/WatchStudy/TailLogs streams per user (a share link
                     counts apart from its owner) in one gateway process (default 2000); beyond
                     it RESOURCE_EXHAUSTED
- REDIRECT_DOWNLOADS redirect downloads to presigned URLs when the object store gives them
                     (default true); false streams them through the gateway
- WEB_DIR            the built web UI (default REPO_WEB_DIST)
- LOG_LEVEL          DEBUG, INFO, WARNING or ERROR (default INFO)
- OBJECTS_DIR, or S3_* / SIMLAB_S3_*: the object store (see simlab.adapters.objectstore_factory)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from simlab.adapters.objectstore_factory import ObjectStoreSettings, object_store_settings
from simlab.bundle import DEFAULT_MAX_BYTES
from simlab.common.settings import Env, SettingsError
from simlab_gateway.core.auth import Authenticator
from simlab_gateway.core.sessions import MIN_SECRET_CHARS
from simlab_gateway.core.studies import DEFAULT_MAX_POINTS
from simlab_gateway.transport.hosts import host_name

PREFIX = "SIMLAB_GATEWAY"
# web/dist of the checkout, or of the venv's prefix in the service image.
REPO_WEB_DIST = Path(__file__).resolve().parents[4] / "web" / "dist"


@dataclass(frozen=True)
class Settings:
    listen: str
    jobstore: str
    service_token: str
    nats_url: str
    tokens: Mapping[str, str]
    session_secret: str | None
    # None: any host (*).
    allowed_hosts: frozenset[str] | None
    max_shards: int
    max_study_points: int
    # None: everyone signed in may push models.
    authors: frozenset[str] | None
    max_bundle_bytes: int
    registration_timeout_s: float
    jobstore_retry_s: float
    redirect_downloads: bool
    max_streams_per_user: int
    web_dir: Path
    log_level: str
    object_store: ObjectStoreSettings

    @staticmethod
    def from_env(environ: Mapping[str, str] | None = None) -> Settings:
        env = Env(PREFIX, environ)
        try:
            tokens = Authenticator.parse_tokens(env.str("TOKENS", ""))
        except ValueError as error:
            raise SettingsError(f"{env.key('TOKENS')}: {error}") from None
        if not tokens:
            raise SettingsError(f"{env.key('TOKENS')} is not set: nobody could sign in")
        listen = env.address("LISTEN", "127.0.0.1:8080")
        return Settings(
            listen=listen,
            jobstore=env.str("JOBSTORE"),
            service_token=env.str("SERVICE_TOKEN"),
            nats_url=env.str("NATS_URL"),
            tokens=tokens,
            session_secret=_session_secret(env),
            allowed_hosts=_allowed_hosts(env, listen),
            max_shards=env.int("MAX_SHARDS", 64, minimum=1),
            max_study_points=env.int("MAX_STUDY_POINTS", DEFAULT_MAX_POINTS, minimum=1),
            authors=_authors(env),
            max_bundle_bytes=env.int("MAX_BUNDLE_BYTES", DEFAULT_MAX_BYTES, minimum=1),
            registration_timeout_s=env.float("REGISTRATION_TIMEOUT_S", 300.0, minimum=1),
            jobstore_retry_s=env.float("JOBSTORE_RETRY_S", 5.0, minimum=0),
            redirect_downloads=env.bool("REDIRECT_DOWNLOADS", True),
            max_streams_per_user=env.int("MAX_STREAMS_PER_USER", 2000, minimum=1),
            web_dir=Path(env.str("WEB_DIR", str(REPO_WEB_DIST))),
            log_level=env.log_level(),
            object_store=object_store_settings(env),
        )


def _session_secret(env: Env) -> str | None:
    secret = env.str("SESSION_SECRET", "") or None
    if secret is not None and len(secret) < MIN_SECRET_CHARS:
        raise SettingsError(
            f"{env.key('SESSION_SECRET')} is too short: use at least {MIN_SECRET_CHARS} random "
            "characters"
        )
    return secret


def _allowed_hosts(env: Env, listen: str) -> frozenset[str] | None:
    given = env.str("ALLOWED_HOSTS", "")
    hosts = {host_name(h) for h in given.split(",") if h.strip()}
    if "*" in hosts:
        return None
    if not given.strip():
        hosts = {"localhost", "127.0.0.1", "::1"}
        listen_host = host_name(listen)
        # A wildcard address is where it listens, not a name anyone addresses it by.
        if listen_host not in ("0.0.0.0", "::", ""):
            hosts.add(listen_host)
    if not hosts:
        raise SettingsError(f"{env.key('ALLOWED_HOSTS')} names no host; * allows any")
    return frozenset(hosts)


def _authors(env: Env) -> frozenset[str] | None:
    users = frozenset(filter(None, (u.strip() for u in env.str("AUTHORS", "*").split(","))))
    if "*" in users:
        if len(users) > 1:
            raise SettingsError(f"{env.key('AUTHORS')}: * (everyone) or a list of users, not both")
        return None
    if not users:
        raise SettingsError(f"{env.key('AUTHORS')} names nobody; * lets everyone push")
    return users
