from simlab_gateway.core.logs import END_GRACE_S, LogFollow


def test_a_follow_goes_on_while_the_job_runs() -> None:
    follow = LogFollow()
    follow.output(0)
    follow.shard_ended(0)
    assert not follow.complete(100.0, caught_up=True)


def test_after_the_job_ends_it_waits_for_every_shard_that_wrote_to_end() -> None:
    follow = LogFollow()
    follow.output(0)
    follow.output(1)
    follow.job_ended(10.0)
    follow.shard_ended(0)
    assert not follow.complete(11.0, caught_up=True)
    follow.shard_ended(1)
    assert not follow.complete(11.0, caught_up=False)
    assert follow.complete(11.0, caught_up=True)


def test_a_relaunched_shard_is_open_again_until_it_ends() -> None:
    follow = LogFollow()
    follow.output(0)
    follow.shard_ended(0)
    follow.output(0)
    follow.job_ended(0.0)
    assert not follow.complete(1.0, caught_up=True)


def test_a_shard_that_never_says_it_ended_is_given_up_after_the_grace() -> None:
    follow = LogFollow()
    follow.output(3)
    follow.job_ended(5.0)
    follow.job_ended(9.0)  # the first end counts
    assert not follow.complete(5.0 + END_GRACE_S - 0.1, caught_up=False)
    assert follow.complete(5.0 + END_GRACE_S, caught_up=False)
