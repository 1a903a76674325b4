"""CommitBehind: jobs in order on one thread beside the caller, bounded, errors raised in the caller's thread."""

from __future__ import annotations

import threading
import time

import pytest

from agent.indexing.commit_behind import CommitBehind


def test_jobs_run_in_order_on_another_thread_and_the_caller_goes_on():
    behind = CommitBehind(depth=8)
    release = threading.Event()
    ran: list[tuple[int, str]] = []

    def job(i: int):
        def run():
            if i == 0:
                release.wait(5)  # the first job is slow: the caller must not wait for it
            ran.append((i, threading.current_thread().name))
        return run

    for i in range(5):
        behind.submit(job(i))
    assert ran == []  # all five handed over while the first still runs
    release.set()
    behind.drain()
    assert [i for i, _ in ran] == [0, 1, 2, 3, 4]
    assert all(name.startswith("sva-commit-behind") for _, name in ran)
    behind.close()
    assert not any(t.name.startswith("sva-commit-behind") and t.is_alive() for t in threading.enumerate())


def test_no_more_than_depth_jobs_wait():
    behind = CommitBehind(depth=2)
    started, finished = [], []

    def job(i: int):
        def run():
            started.append(i)
            time.sleep(0.05)
            finished.append(i)
        return run

    for i in range(6):
        behind.submit(job(i))
        # Handing job i over returns once at most `depth` jobs, the one just given included, are unfinished.
        assert i + 1 - len(finished) <= 2
    behind.drain()
    assert finished == list(range(6))


def test_depth_zero_runs_each_job_at_once_in_the_caller():
    behind = CommitBehind(depth=0)
    ran = []
    behind.submit(lambda: ran.append(threading.current_thread().name))
    assert ran == [threading.current_thread().name]


def test_an_escaped_error_stops_the_later_jobs_and_is_raised_in_the_caller():
    behind = CommitBehind(depth=4)
    ran = []
    gate = threading.Event()

    def boom():
        gate.wait(5)
        raise OSError("No space left on device")

    behind.submit(lambda: ran.append(0))
    behind.submit(boom)
    behind.submit(lambda: ran.append(2))  # given before the error: skipped, it would build on what failed
    gate.set()
    with pytest.raises(OSError, match="No space left"):
        behind.drain()
    with pytest.raises(OSError, match="No space left"):  # and again, until close: nothing after it ran
        behind.submit(lambda: ran.append(9))
    assert ran == [0]
    behind.close()
    # A new run after close starts clean.
    behind.submit(lambda: ran.append(3))
    behind.drain()
    assert ran == [0, 3]
    behind.close()


def test_close_lets_the_given_jobs_finish_and_keeps_quiet_about_errors():
    behind = CommitBehind(depth=4)
    ran = []
    behind.submit(lambda: (time.sleep(0.05), ran.append(1)))
    behind.submit(lambda: 1 / 0)
    behind.close()  # the caller is leaving on an error of its own: not replaced by this one
    assert ran == [1]
