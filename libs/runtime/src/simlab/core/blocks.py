"""How a run's samples are cut into blocks, how blocks are dealt to shards, and which random
stream each block draws from. Block i always draws from SeedSequence(seed).spawn(n)[i], so a
block's numbers do not depend on which shard runs it."""

from __future__ import annotations

import numpy as np

# Bumped whenever a block's numbers for the same (model code, parameters, seed, block, samples)
# could change: part of a run's fingerprint, so a cached result is never one of another engine.
ENGINE_VERSION = 1


def blocks_total(samples_total: int, block_size: int) -> int:
    return -(-samples_total // block_size)


def block_samples(block: int, samples_total: int, block_size: int) -> int:
    """Samples in block `block`: block_size, except a shorter last block."""
    return min(block_size, samples_total - block * block_size)


def shard_blocks(shard: int, shards: int, total: int) -> range:
    """Blocks are dealt round-robin, so every shard's progress covers the whole run."""
    return range(shard, total, shards)


def block_seed(seed: int, block: int) -> np.random.SeedSequence:
    # Equal to SeedSequence(seed).spawn(n)[block] for any n > block, without spawning n.
    return np.random.SeedSequence(seed, spawn_key=(block,))


def block_rng(seed: int, block: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(block_seed(seed, block)))
