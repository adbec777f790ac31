"""One chain after scoring, for the worker and the embedded scorer: the intervals are sent once
the scores are committed, and a queue that is away loses the intervals job, never the scores."""

from __future__ import annotations

from datetime import timedelta

from app.leaderboard.intervals import sweep_intervals
from app.submissions.pipeline import score_then_intervals
from tests.fixtures.arena import Arena


class Queue:
    """Intervals jobs as a queue takes them; `down` refuses them as Redis away would."""

    def __init__(self, *, down: bool = False) -> None:
        self.sent: list[int] = []
        self.down = down

    def send_intervals(self, submission_id: int) -> None:
        if self.down:
            raise ConnectionError("Redis is away")
        self.sent.append(submission_id)


def _uploaded(arena: Arena) -> tuple[int, dict[str, str]]:
    _, ada = arena.participant("ada@example.org")
    submission = arena.upload(ada, arena.zip("cifar10-weak")).json()["id"]
    arena.sent.clear()
    return submission, ada


def test_a_scored_submission_sends_its_intervals_once(arena: Arena) -> None:
    submission, _ = _uploaded(arena)
    queue = Queue()
    assert score_then_intervals(arena.factory, submission, 5, queue) == "scored"
    assert queue.sent == [submission]
    assert score_then_intervals(arena.factory, submission, 5, queue) == "skipped"
    assert queue.sent == [submission]  # a duplicate message sends nothing more


def test_scores_stand_when_the_intervals_cannot_be_queued(arena: Arena) -> None:
    submission, ada = _uploaded(arena)
    assert score_then_intervals(arena.factory, submission, 5, Queue(down=True)) == "scored"
    shown = arena.browser.get(f"/api/v1/submissions/{submission}", headers=ada).json()
    assert shown["status"] == "scored"
    resent: list[int] = []
    assert sweep_intervals(arena.factory, resent.append, after=timedelta(0)) == [submission]
