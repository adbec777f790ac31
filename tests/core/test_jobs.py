"""The embedded mode's threads: scoring first, an intervals job only when no scoring waits;
closing finishes the scoring that waits and leaves the intervals to the sweeper."""

from __future__ import annotations

import threading

from app.core.jobs import ThreadDispatcher
from tests.fixtures.services import wait_for


def test_a_thread_takes_every_waiting_scoring_before_an_intervals_job() -> None:
    done: list[tuple[str, int]] = []
    busy = threading.Event()

    def score(i: int) -> None:
        busy.wait(5)
        done.append(("score", i))

    dispatcher = ThreadDispatcher(score, 1, lambda i: done.append(("intervals", i)))
    dispatcher.send(1)  # holds the one thread
    dispatcher.send_intervals(1)
    dispatcher.send_intervals(2)
    dispatcher.send(2)
    dispatcher.send(3)
    busy.set()
    wait_for(lambda: len(done) == 5, 5, "every job")
    assert done == [("score", 1), ("score", 2), ("score", 3), ("intervals", 1), ("intervals", 2)]
    dispatcher.close()


def test_closing_finishes_waiting_scoring_and_leaves_intervals_to_the_sweeper() -> None:
    done: list[tuple[str, int]] = []
    busy = threading.Event()

    def score(i: int) -> None:
        busy.wait(5)
        done.append(("score", i))

    dispatcher = ThreadDispatcher(score, 2, lambda i: done.append(("intervals", i)))
    for i in range(4):
        dispatcher.send(i)
        dispatcher.send_intervals(i)
    busy.set()
    dispatcher.close()
    assert sorted(done) == [("score", i) for i in range(4)]


def test_a_failing_job_does_not_stop_its_thread() -> None:
    done: list[int] = []

    def score(i: int) -> None:
        if i == 1:
            raise RuntimeError("boom")
        done.append(i)

    dispatcher = ThreadDispatcher(score, 1, None)
    dispatcher.send(1)
    dispatcher.send(2)
    dispatcher.send_intervals(3)  # no intervals job in this dispatcher: ignored
    wait_for(lambda: done == [2], 5, "the second job")
    dispatcher.close()
