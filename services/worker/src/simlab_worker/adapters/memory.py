"""The C allocator's policy for a worker's block-sized NumPy arrays.

glibc serves allocations above its mmap threshold with fresh mappings and trims free heap
above its trim threshold, giving the memory back to the OS; a block frees all its arrays at
its end, so every block page-faulted them in again (1,366 faults per block of
european_option in a worker). Raising both thresholds keeps that memory for the next block."""

from __future__ import annotations

import ctypes
import sys

MiB = 1024 * 1024
# mallopt parameters, from glibc's malloc.h.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
# Arrays up to this size come from the heap (glibc's largest allowed value on 64-bit)...
MMAP_THRESHOLD = 32 * MiB
# ...and up to this much free heap is kept rather than returned to the OS.
TRIM_THRESHOLD = 64 * MiB


def keep_freed_memory() -> bool:
    """Sets the policy for this process (not its children); whether it is in effect. Elsewhere
    than Linux, or with a libc without mallopt, nothing changes."""
    if sys.platform != "linux":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's own libc
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    # Both are always set: 1 is success; musl's mallopt is a stub that returns 0.
    mmap_set = mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    trim_set = mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    return mmap_set == 1 and trim_set == 1
