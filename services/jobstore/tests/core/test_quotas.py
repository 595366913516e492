"""The active-jobs quota applied to a batch of new jobs, in order."""

from __future__ import annotations

from simlab.common.errors import Code
from simlab_jobstore.core.quotas import Quotas


def test_a_batch_takes_the_room_left_in_order_and_the_rest_is_refused() -> None:
    quotas = Quotas(active_jobs=3)
    new = [("ana", "a"), ("bob", ""), ("ana", ""), ("ana", "b"), ("bob", "c")]
    refused = quotas.refused_jobs({"ana": 1, "bob": 3}, new, known=())
    assert sorted(refused) == [1, 3, 4]
    assert all(error.code is Code.RESOURCE_EXHAUSTED for error in refused.values())
    assert "at most 3 active jobs per user" in str(refused[3])


def test_a_resubmission_needs_no_room_even_when_full() -> None:
    quotas = Quotas(active_jobs=2)
    # "r1" names a job already; "r2" appears twice: the second is its resubmission.
    new = [("ana", "r1"), ("ana", "r2"), ("ana", "r2"), ("ana", "r3")]
    assert list(quotas.refused_jobs({"ana": 1}, new, known={("ana", "r1")})) == [3]
