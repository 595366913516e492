"""keep_freed_memory (adapters/memory.py): blocks stop page-faulting their arrays in again. Each
case runs in a child process, as the allocator's policy is process-wide and for good."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from collections.abc import Callable

import pytest

from simlab_worker.adapters import memory

# Minor page faults per block-like iteration: three 16 MiB arrays alive at once (48 MiB, over
# the 32 MiB glibc's own trim threshold grows to, under the 64 MiB the policy keeps), then
# freed. Transparent huge pages are off in the child so a fault is one 4 KiB page whatever the
# machine's THP setting (a block of european_option, whose arrays NumPy never asks huge pages
# for, faults that way too).
CHILD = """
import ctypes, json, resource, sys
import numpy as np
from simlab_worker.adapters.memory import keep_freed_memory

PR_SET_THP_DISABLE = 41
assert ctypes.CDLL(None).prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) == 0
applied = keep_freed_memory() if sys.argv[1] == "policy" else False

def block():
    a = np.full(2 * 1024 * 1024, 0.5)
    b = a * 2.0
    return float(np.exp(b).sum())

for _ in range(3):  # the first blocks fault the memory in, with or without the policy
    block()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    block()
faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20
print(json.dumps({"applied": applied, "faults_per_block": faults}))
"""


def _faults_per_block(mode: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt's thresholds are glibc's")
def test_the_policy_keeps_blocks_from_faulting_their_arrays_in_again() -> None:
    default = _faults_per_block("default")
    policy = _faults_per_block("policy")
    print(f"faults per block: default {default}, with the policy {policy}")
    assert policy["applied"]
    # Measured: 12,256 (all three arrays, 4 KiB at a time) vs 0.
    assert default["faults_per_block"] > 3000
    assert policy["faults_per_block"] < 50


def _no_libc(name: str | None) -> object:
    raise OSError(f"cannot load {name}")


def _libc_without_mallopt(name: str | None) -> object:
    return object()


@pytest.mark.parametrize("cdll", [_no_libc, _libc_without_mallopt])
def test_without_mallopt_it_changes_nothing(
    monkeypatch: pytest.MonkeyPatch, cdll: Callable[[str | None], object]
) -> None:
    monkeypatch.setattr(memory.ctypes, "CDLL", cdll)
    assert memory.keep_freed_memory() is False
