"""Object names are bounded (length, depth, no NUL, no '..') and a name resolves in time linear
in its depth, on both adapters: a download of jobs/<id>/a/a/.../x with thousands of segments
used to read one manifest per parent segment, each a longer key (quadratic)."""

from __future__ import annotations

import time

import pytest

from simlab.adapters.objectstore import MAX_KEY_DEPTH, MAX_KEY_LENGTH, ObjectStore, valid_key


def deep(segments: int) -> str:
    return "jobs/j1/" + "a/" * segments + "x"


def test_a_key_of_thousands_of_segments_is_missing_at_once(store: ObjectStore) -> None:
    store.commit_prefix("jobs/j1", {"summary.json": b"{}"})
    started = time.perf_counter()
    with pytest.raises(KeyError):
        store.open(deep(2000))
    with pytest.raises(KeyError):
        store.presigned_url(deep(2000))
    assert store.list(deep(2000)) == []
    assert time.perf_counter() - started < 0.05


def test_resolving_a_name_reads_at_most_one_manifest_per_segment(store: ObjectStore) -> None:
    store.commit_prefix("jobs/j1", {"a/b/c.txt": b"deep"})
    key = "jobs/j1/a/b/c.txt"
    with store.open(key) as f:
        assert f.read() == b"deep"
    reads: list[str] = []
    read_manifest = store.read_manifest

    def counting(prefix: str) -> object:
        reads.append(prefix)
        return read_manifest(prefix)

    store.read_manifest = counting  # type: ignore[method-assign]
    with store.open(key) as f:
        assert f.read() == b"deep"
    assert len(reads) <= key.count("/")


@pytest.mark.parametrize(
    "key",
    [
        "jobs/j1/" + "x" * MAX_KEY_LENGTH,
        # Shorter than MAX_KEY_LENGTH, but no file system takes a name this long.
        "jobs/j1/" + "x" * 300,
        "jobs/j1/" + "é" * 128,
        "/".join(["d"] * (MAX_KEY_DEPTH + 1)),
        "jobs/j1/a\0b",
        "jobs/j1/../j2/summary.json",
        "jobs//j1",
        "",
    ],
)
def test_names_out_of_bounds_are_not_keys(store: ObjectStore, key: str) -> None:
    assert not valid_key(key)
    with pytest.raises(KeyError):
        store.open(key)
    assert store.list(key) == [] or key == ""
    with pytest.raises(ValueError, match="object key"):
        store.put_bytes(key, b"x")


def test_names_within_bounds_are_keys(store: ObjectStore) -> None:
    key = "/".join(["d"] * MAX_KEY_DEPTH)
    assert valid_key(key)
    store.put_bytes(key, b"deepest")
    assert [o.key for o in store.list("d")] == [key]
