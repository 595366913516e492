"""The byte streams of GetBundle and PutArtifacts. The object store is blocking: its calls run
in threads. PutArtifacts spools the files to a private temporary directory (not memory: up to
MAX_ARTIFACT_BYTES per call) and commits them at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, Awaitable, Callable
from pathlib import Path
from typing import BinaryIO

from simlab.common.errors import not_found
from simlab.jobstore.v1 import jobstore_pb2 as store_pb

from ..core.artifacts import CHUNK_BYTES, ArtifactUpload
from ..core.store import Objects


async def send_bundle(
    objects: Objects,
    key: str,
    code_sha256: str,
    write: Callable[[store_pb.BundleChunk], Awaitable[None]],
) -> None:
    """Writes the bundle in CHUNK_BYTES chunks, the first carrying its sha256 (at least one
    chunk, however small the bundle)."""
    try:
        chunks = await asyncio.to_thread(objects.iter_chunks, key, CHUNK_BYTES)
    except KeyError:
        raise not_found(f"bundle {code_sha256}") from None
    first = True
    while (chunk := await asyncio.to_thread(next, chunks, None)) is not None:
        await write(store_pb.BundleChunk(sha256=code_sha256 if first else "", data=chunk))
        first = False
    if first:  # an empty object: its sha256 all the same
        await write(store_pb.BundleChunk(sha256=code_sha256))


async def receive_artifacts(
    messages: AsyncIterable[store_pb.PutArtifactsRequest], directory: Path
) -> dict[str, Path]:
    """The files the stream carries (name -> its spooled copy in `directory`), in order;
    refuses unsafe names, a repeated name and more than the limit in all."""
    upload = ArtifactUpload()
    files: dict[str, Path] = {}
    out: BinaryIO | None = None
    try:
        async for message in messages:
            if message.name:
                upload.start(message.name)
                if out is not None:
                    out.close()
                files[message.name] = directory / str(len(files))
                out = files[message.name].open("wb")
            if message.data:
                upload.add(len(message.data))
                assert out is not None, "ArtifactUpload.add refuses data before a name"
                await asyncio.to_thread(out.write, message.data)
    finally:
        if out is not None:
            out.close()
    return files
