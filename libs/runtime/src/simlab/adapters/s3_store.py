"""Object store in an S3 bucket (MinIO in tests and on kind, any S3 in production), through the
`minio` client. Its configuration is described in objectstore_factory.py, the shared semantics
in objectstore.py.

Every request goes through `_retrying`: connection errors and 5xx are retried with jittered
exponential backoff a bounded number of times, then ObjectStoreUnavailable names the endpoint.
Uploads above the multipart threshold go in parts and downloads stream, so neither holds a
whole large object in memory; an interrupted download resumes where it stopped (Range).
"""

from __future__ import annotations

import io
import logging
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO, TypeVar
from urllib.parse import urlsplit

import certifi
import stamina
import urllib3
from minio import Minio
from minio.deleteobjects import DeleteObject
from minio.error import InvalidResponseError, S3Error, ServerError
from minio.helpers import MIN_PART_SIZE, DictType

from simlab.adapters.objectstore import (
    ManifestStore,
    ObjectInfo,
    ObjectStoreUnavailable,
    check_key,
    in_prefix,
)
from simlab.common.settings import Env, SettingsError

log = logging.getLogger(__name__)

T = TypeVar("T")
MiB = 1024 * 1024
MAX_SINGLE_PUT = 5 * 1024 * MiB  # S3's limit for one PUT
MAX_PRESIGN_S = 3600  # presigned links are short-lived by design
PARALLEL_PARTS = 3  # parts in flight; memory is about (PARALLEL_PARTS + 1) * part_size
READ_BUFFER = MiB


@dataclass(frozen=True)
class S3Config:
    endpoint: str  # host[:port]
    access_key: str
    secret_key: str
    bucket: str
    secure: bool = True
    region: str = "us-east-1"
    public_endpoint: str | None = None  # host[:port] named by presigned URLs
    public_secure: bool = True
    presign_expires_s: int = 900
    multipart_threshold: int = 64 * MiB
    part_size: int = 16 * MiB
    max_attempts: int = 5
    backoff_s: float = 0.5
    max_backoff_s: float = 8.0
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 60.0

    def __post_init__(self) -> None:
        if not MIN_PART_SIZE <= self.part_size <= MAX_SINGLE_PUT:
            raise SettingsError(f"S3 part size must be 5 MiB to 5 GiB, got {self.part_size}")
        if not 0 <= self.multipart_threshold <= MAX_SINGLE_PUT:
            raise SettingsError(
                f"S3 multipart threshold must be at most 5 GiB, got {self.multipart_threshold}"
            )
        if not 1 <= self.presign_expires_s <= MAX_PRESIGN_S:
            raise SettingsError(
                f"S3 presign expiry must be 1 to {MAX_PRESIGN_S} s, got {self.presign_expires_s}"
            )
        if self.max_attempts < 1:
            raise SettingsError("S3 max attempts must be at least 1")

    @property
    def url(self) -> str:
        return f"{'https' if self.secure else 'http'}://{self.endpoint}"

    @classmethod
    def from_env(cls, env: Env) -> S3Config | None:
        """None when no S3 endpoint is configured. P_S3_<NAME> wins over SIMLAB_S3_<NAME>."""
        own = f"{env.prefix}_S3_"
        merged = dict(env.environ)
        for key, value in env.environ.items():
            if key.startswith(own) and value:
                merged[f"SIMLAB_S3_{key.removeprefix(own)}"] = value
        s3 = Env("SIMLAB_S3", merged)
        if not merged.get("SIMLAB_S3_ENDPOINT"):
            return None
        endpoint, secure = _endpoint(s3, "ENDPOINT")
        public, public_secure = (
            _endpoint(s3, "PUBLIC_ENDPOINT")
            if merged.get("SIMLAB_S3_PUBLIC_ENDPOINT")
            else (None, secure)
        )
        return cls(
            endpoint=endpoint,
            secure=secure,
            access_key=s3.str("ACCESS_KEY"),
            secret_key=s3.str("SECRET_KEY"),
            bucket=s3.str("BUCKET"),
            region=s3.str("REGION", "us-east-1"),
            public_endpoint=public,
            public_secure=public_secure,
            presign_expires_s=s3.int("PRESIGN_EXPIRES_S", cls.presign_expires_s),
            multipart_threshold=s3.int("MULTIPART_THRESHOLD", cls.multipart_threshold),
            part_size=s3.int("PART_SIZE", cls.part_size),
            max_attempts=s3.int("MAX_ATTEMPTS", cls.max_attempts),
            backoff_s=s3.float("BACKOFF_S", cls.backoff_s),
        )


def _endpoint(s3: Env, name: str) -> tuple[str, bool]:
    """host[:port] and whether to use TLS, from a URL or a bare host (TLS unless S3_SECURE)."""
    raw = s3.str(name)
    if "://" not in raw:
        return raw.rstrip("/"), s3.bool("SECURE", True)
    url = urlsplit(raw)
    if url.scheme not in ("http", "https") or not url.netloc or url.path.strip("/"):
        raise SettingsError(f"{s3.key(name)} must be http(s)://host[:port], got {raw!r}")
    return url.netloc, url.scheme == "https"


class S3Store(ManifestStore):
    def __init__(self, config: S3Config) -> None:
        self.config = config
        self.bucket = config.bucket
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=config.connect_timeout_s, read=config.read_timeout_s),
            maxsize=10,
            cert_reqs="CERT_REQUIRED",
            ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
            retries=False,  # _retrying owns the policy
        )
        self._client = Minio(
            config.endpoint,
            access_key=config.access_key,
            secret_key=config.secret_key,
            secure=config.secure,
            region=config.region,
            http_client=http,
        )
        # Signing is local (the region is known): this client never connects.
        self._signer = Minio(
            config.public_endpoint or config.endpoint,
            access_key=config.access_key,
            secret_key=config.secret_key,
            secure=config.public_secure if config.public_endpoint else config.secure,
            region=config.region,
        )
        self._retrying(f"create bucket {self.bucket}", self._ensure_bucket)

    def _ensure_bucket(self) -> None:
        # New buckets are private; no policy is ever set, so nothing is public.
        if self._client.bucket_exists(self.bucket):
            return
        try:
            self._client.make_bucket(self.bucket, location=self.config.region)
        except S3Error as e:
            if e.code != "BucketAlreadyOwnedByYou":  # another service won the race
                raise

    def put_bytes(self, key: str, data: bytes) -> None:
        check_key(key)
        self._retrying(
            f"PUT {key}",
            lambda: self._client.put_object(
                self.bucket, key, io.BytesIO(data), len(data), part_size=self._part_size(len(data))
            ),
        )

    def put_file(self, key: str, path: Path) -> None:
        check_key(key)
        size = path.stat().st_size

        def upload() -> None:
            with path.open("rb") as f:
                self._client.put_object(
                    self.bucket,
                    key,
                    f,
                    size,
                    part_size=self._part_size(size),
                    num_parallel_uploads=PARALLEL_PARTS,
                )

        self._retrying(f"PUT {key}", upload)

    def _part_size(self, size: int) -> int:
        """One part (a single PUT) up to the threshold, else parts of the configured size."""
        if size <= self.config.multipart_threshold:
            return max(size, MIN_PART_SIZE)
        return self.config.part_size

    def _open_raw(self, key: str) -> BinaryIO:
        return io.BufferedReader(_Download(self, key), READ_BUFFER)

    def _get(self, key: str, offset: int = 0, etag: str | None = None) -> Any:
        """The streaming response for `key` from `offset`; If-Match keeps a resumed download
        from splicing two versions of the object."""
        headers: DictType | None = {"If-Match": etag} if etag else None
        try:
            return self._retrying(
                f"GET {key}",
                lambda: self._client.get_object(
                    self.bucket, key, offset=offset, request_headers=headers
                ),
            )
        except S3Error as e:
            if e.code == "NoSuchKey":
                raise KeyError(key) from None
            raise

    def _list_raw(self, prefix: str) -> list[ObjectInfo]:
        def listing() -> list[ObjectInfo]:
            found = self._client.list_objects(self.bucket, prefix=prefix or None, recursive=True)
            return [
                ObjectInfo(o.object_name, o.size or 0)
                for o in found
                if o.object_name is not None and in_prefix(o.object_name, prefix)
            ]

        return self._retrying(f"LIST {prefix}/", listing)

    def _exists(self, key: str) -> bool:
        try:
            self._retrying(f"HEAD {key}", lambda: self._client.stat_object(self.bucket, key))
        except S3Error as e:
            if e.code in ("NoSuchKey", "ResourceNotFound"):
                return False
            raise
        return True

    def _delete(self, keys: list[str]) -> None:
        def delete() -> None:
            # remove_objects is lazy: the requests go out as its errors are read.
            errors = list(self._client.remove_objects(self.bucket, [DeleteObject(k) for k in keys]))
            if errors:
                raise RuntimeError(f"could not delete from {self.config.url}: {errors[0]}")

        if keys:
            self._retrying(f"DELETE {len(keys)} objects", delete)

    def _presign(self, key: str, expires_s: int | None) -> str:
        expires = self.config.presign_expires_s if expires_s is None else expires_s
        if not 1 <= expires <= MAX_PRESIGN_S:
            raise ValueError(f"presigned URL expiry must be 1 to {MAX_PRESIGN_S} s, got {expires}")
        return self._signer.presigned_get_object(
            self.bucket, key, expires=timedelta(seconds=expires)
        )

    def _retrying(self, what: str, call: Callable[[], T]) -> T:
        config = self.config
        started = time.monotonic()
        attempts = 0
        delay = config.backoff_s

        def pause_if_transient(e: Exception) -> bool | float:
            """stamina's backoff hook: the jittered pause before the next attempt, or False."""
            nonlocal delay
            if not _transient(e) or attempts == config.max_attempts:
                return False
            pause = delay * random.uniform(0.5, 1.0)  # jitter spreads out many shards
            delay = min(delay * 2, config.max_backoff_s)
            log.warning(
                "object store %s: %s failed (%s); retrying in %.1f s", config.url, what, e, pause
            )
            return pause

        try:
            for attempt in stamina.retry_context(
                on=pause_if_transient, attempts=config.max_attempts, timeout=None
            ):
                attempts = attempt.num
                with attempt:
                    return call()
        except Exception as e:
            if not _transient(e):
                raise
            raise ObjectStoreUnavailable(
                f"object store {config.url} (bucket {self.bucket}) is unavailable: "
                f"{what} failed {attempts} times in {time.monotonic() - started:.1f} s; "
                f"last error: {e}"
            ) from e
        raise AssertionError("unreachable: stamina retries until call() returns or raises")


def _transient(e: Exception) -> bool:
    """Worth retrying: the connection failed or the server said 5xx."""
    if isinstance(e, urllib3.exceptions.HTTPError | ConnectionError | TimeoutError):
        return True
    if isinstance(e, S3Error):
        return e.response.status >= 500
    if isinstance(e, ServerError):
        return e.status_code >= 500
    if isinstance(e, InvalidResponseError):  # e.g. an HTML 502 from a proxy
        return getattr(e, "_code", 0) >= 500
    return False


class _Download(io.RawIOBase):
    """An object's body as a file; a dropped connection is resumed from the current offset."""

    def __init__(self, store: S3Store, key: str) -> None:
        self._store = store
        self._key = key
        self._response = store._get(key)
        self._etag = self._response.headers.get("ETag")
        self._offset = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        failures = 0
        while True:
            try:
                n: int = self._response.readinto(buffer)
            except (urllib3.exceptions.HTTPError, ConnectionError, TimeoutError) as e:
                failures += 1
                if failures >= self._store.config.max_attempts:
                    raise ObjectStoreUnavailable(
                        f"object store {self._store.config.url}: reading {self._key} kept "
                        f"failing at byte {self._offset}; last error: {e}"
                    ) from e
                log.warning("object store: resuming %s at byte %d (%s)", self._key, self._offset, e)
                self._release()
                self._response = self._store._get(self._key, self._offset, self._etag)
                continue
            self._offset += n
            return n

    def _release(self) -> None:
        self._response.close()
        self._response.release_conn()

    def close(self) -> None:
        if not self.closed:
            self._release()
        super().close()
