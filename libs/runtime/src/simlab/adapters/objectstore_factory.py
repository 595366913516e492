"""The object store a service uses, chosen by configuration in two halves: a service's Settings
read `object_store_settings(env)` (so a bad setting stops it at start, naming the variable) and
its app opens the store with `open_object_store(settings)`. The interface and the shared
semantics are in objectstore.py; this module alone knows the adapters, so they can import the
interface without a cycle.

A service with prefix P (e.g. SIMLAB_WORKER) reads each S3 setting as P_S3_<NAME>, falling back
to the shared SIMLAB_S3_<NAME>: a service can override one setting (its own credentials, say)
and share the rest. When S3_ENDPOINT is set either way the S3 store is used; otherwise the local
directory P_OBJECTS_DIR (the embedded default of `make run`).

- S3_ENDPOINT: http(s)://host:port (the scheme decides TLS) or host[:port] (TLS unless
  S3_SECURE=false).
- S3_ACCESS_KEY, S3_SECRET_KEY, S3_BUCKET: required; the bucket is created, private, if missing.
- S3_REGION (us-east-1); S3_PUBLIC_ENDPOINT: the address presigned URLs name when browsers reach
  the store elsewhere than the services do (defaults to S3_ENDPOINT).
- S3_PRESIGN_EXPIRES_S (900, at most 3600); S3_MULTIPART_THRESHOLD (64 MiB) and S3_PART_SIZE
  (16 MiB, at least 5 MiB); S3_MAX_ATTEMPTS (5) and S3_BACKOFF_S (0.5, doubling up to 8 s)
  bound the retries on connection errors and 5xx before ObjectStoreUnavailable.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeAlias

from simlab.adapters.local_store import LocalDirectoryStore
from simlab.adapters.objectstore import ObjectStore
from simlab.adapters.s3_store import S3Config, S3Store
from simlab.common.settings import Env

# The S3 store's configuration, or the local store's root directory.
ObjectStoreSettings: TypeAlias = S3Config | Path


def object_store_settings(env: Env) -> ObjectStoreSettings:
    """S3 when S3_ENDPOINT is set, else the local directory OBJECTS_DIR (see the module doc);
    raises SettingsError naming the variable that is missing or malformed."""
    return S3Config.from_env(env) or Path(env.str("OBJECTS_DIR"))


def open_object_store(settings: ObjectStoreSettings) -> ObjectStore:
    """The store the settings name. The S3 store creates its bucket and the local store its
    root: either may raise (SimlabError, OSError)."""
    if isinstance(settings, S3Config):
        return S3Store(settings)
    return LocalDirectoryStore(settings)
