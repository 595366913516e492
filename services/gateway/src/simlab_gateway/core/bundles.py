"""Bundles in the object store: each stored once, under the sha256 of its archive."""

from __future__ import annotations

import asyncio
from typing import BinaryIO

from simlab.bundle import Bundle, BundleError, read_archive
from simlab.common.errors import Code, SimlabError
from simlab_gateway.core.artifacts import bundle_key
from simlab_gateway.core.ports import Objects


class BundleStore:
    def __init__(self, objects: Objects) -> None:
        self.objects = objects

    async def size(self, sha256: str) -> int | None:
        """The stored archive's size; None when it is not stored."""
        key = bundle_key(sha256)
        found = await asyncio.to_thread(self.objects.list, key)
        return next((o.size for o in found if o.key == key), None)

    async def put(self, bundle: Bundle) -> None:
        """Stores the bundle unless it is already (the same bytes under the same key)."""
        key = bundle_key(bundle.sha256)
        if await self.size(bundle.sha256) is None:
            await asyncio.to_thread(self.objects.put_bytes, key, bundle.archive())

    async def open(self, sha256: str) -> BinaryIO:
        """The archive, to stream; KeyError when it is not stored."""
        return await asyncio.to_thread(self.objects.open, bundle_key(sha256))

    async def read(self, sha256: str) -> Bundle:
        """The stored bundle, its hash verified."""

        def read() -> bytes:
            with self.objects.open(bundle_key(sha256)) as handle:
                return handle.read()

        try:
            return read_archive(await asyncio.to_thread(read), expected_sha256=sha256)
        except BundleError as error:
            raise SimlabError(Code.INTERNAL, f"stored bundle {sha256}: {error}") from None
