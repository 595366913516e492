import numpy as np
import pytest

from simlab.core.blocks import block_rng, block_samples, block_seed, blocks_total, shard_blocks


@pytest.mark.parametrize(
    ("samples", "block_size", "expected"), [(1, 10, 1), (10, 10, 1), (11, 10, 2), (100, 7, 15)]
)
def test_blocks_total_rounds_up(samples, block_size, expected):
    assert blocks_total(samples, block_size) == expected


def test_blocks_cover_every_sample_once_with_a_shorter_last_block():
    samples, size = 1003, 100
    sizes = [block_samples(b, samples, size) for b in range(blocks_total(samples, size))]
    assert sizes[:-1] == [100] * 10
    assert sizes[-1] == 3
    assert sum(sizes) == samples


@pytest.mark.parametrize("shards", [1, 2, 3, 5, 13])
def test_shards_partition_the_blocks(shards):
    total = 13
    dealt = [list(shard_blocks(s, shards, total)) for s in range(shards)]
    assert sorted(b for blocks in dealt for b in blocks) == list(range(total))
    # Round-robin: each shard's share differs from another's by at most one block.
    assert max(map(len, dealt)) - min(map(len, dealt)) <= 1


@pytest.mark.parametrize("seed", [0, 7, 123, 2**63 - 1])
def test_block_rng_is_the_spawned_child_stream(seed):
    children = np.random.SeedSequence(seed).spawn(6)
    for block in range(6):
        expected = np.random.Generator(np.random.PCG64(children[block])).random(5)
        assert np.array_equal(block_rng(seed, block).random(5), expected)
        assert block_seed(seed, block).spawn_key == children[block].spawn_key


def test_blocks_draw_different_streams():
    assert not np.array_equal(block_rng(7, 0).random(5), block_rng(7, 1).random(5))
    assert not np.array_equal(block_rng(7, 0).random(5), block_rng(8, 0).random(5))
