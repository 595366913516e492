"""The Kubernetes launcher follows pod logs in a bounded pool: however many pods run, no more
threads than its size, and a pod beyond them is followed once a thread is free."""

from __future__ import annotations

import functools
import threading
import time

from simlab_runner.adapters.k8s_launcher import FollowerPool


def test_followers_beyond_the_pool_wait_for_a_free_thread() -> None:
    pool = FollowerPool(2)
    release = threading.Event()
    lock = threading.Lock()
    running = 0
    most = 0
    finished: list[int] = []

    def follow(pod: int) -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        release.wait(10)
        with lock:
            running -= 1
            finished.append(pod)

    for pod in range(5):
        pool.submit(functools.partial(follow, pod))
    time.sleep(0.2)
    assert (running, len(pool.threads)) == (2, 2)
    release.set()
    deadline = time.monotonic() + 10
    while len(finished) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sorted(finished) == [0, 1, 2, 3, 4]
    assert most == 2
    assert all(thread.daemon for thread in pool.threads)
