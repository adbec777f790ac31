"""Scoring a stored submission: the body of the Celery task and of the embedded scorer.

Safe to run any number of times for one submission, at once or one after the other: it claims
the row, scores outside any transaction, then writes every score and the status in one
transaction under the row's lock, and only if nobody finished first.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from importlib.metadata import PackageNotFoundError, version
from time import perf_counter
from typing import Protocol

from sqlalchemy import ColumnElement, and_, delete, or_, select, update
from sqlalchemy.orm import Session

from app.competitions.service import definition_of
from app.competitions.truth import MissingTruth, truth_of
from app.core import jobs, zip_storage
from app.core.config import Settings
from app.core.db import SessionFactory, committing
from app.leaderboard.intervals import compute_intervals, sweep_intervals
from app.mail import notices
from app.models import representative
from app.models.base import utcnow
from app.models.competition import Competition
from app.models.ground_truth import GroundTruth as TruthRow
from app.models.phase import Phase
from app.models.ranking import Ranking
from app.models.score import Score
from app.models.submission import Submission, SubmissionStatus
from app.models.track import Track
from app.scoring.definition import Definition
from app.scoring.problems import InvalidInput
from app.scoring.readers import GroundTruth, read_submission
from app.scoring.scorer import ScoringError, SplitScore, score_split
from app.submissions.notices import notify_done

log = logging.getLogger(__name__)
ACTIVE = (SubmissionStatus.QUEUED, SubmissionStatus.SCORING)
DONE = (SubmissionStatus.SCORED, SubmissionStatus.FAILED)
# A rescore of this many submissions of a track or more is sent as one message, which the
# workers pass on step by step (`rescore_step`); fewer are sent one message each, as uploads.
BULK_FROM = 100
STEP = 10  # submissions a bulk rescore's step claims at once, then scores one after the other

try:
    SCORER_VERSION = f"mia-arena {version('mia-arena')}"
except PackageNotFoundError:  # pragma: no cover - run from a bare checkout
    SCORER_VERSION = "mia-arena dev"


class IntervalsQueue(Protocol):
    """Where a scored submission's intervals job goes: a dispatcher, or the worker's task."""

    def send_intervals(self, submission_id: int) -> None: ...


class RescoreQueue(IntervalsQueue, Protocol):
    """Where a bulk rescore's next step goes, and the intervals of what it scored."""

    def send_rescore(self, track_id: int, after_id: int) -> None: ...


@dataclass
class Job:
    """What scoring one submission needs, read in one short transaction."""

    zip_bytes: bytes
    track: str
    splits: list[str]
    scenario_ids: dict[str, int]
    truth: GroundTruth
    # The packed labels scored against, by (scenario id, split): stored only if still current.
    stamp: dict[tuple[int, str], bytes]
    definition: Definition  # read in the claiming session: tracks and scenarios as stored
    # When this claim was made: the result is stored only if the row is still this claim's
    # (a rescore, or a ground-truth replacement, queues it again meanwhile).
    claimed_at: datetime
    # Why the stored zip could not be read (missing, or not its SHA-256): fails, server's fault.
    unreadable: str | None = None


def score_submission(factory: SessionFactory, submission_id: int, attempts: int = 5) -> str:
    """Score one submission on every split its phase scores: `scored`, `failed` or `skipped`."""
    try:
        with committing(factory()) as session:
            job = _claim(session, submission_id, attempts)
    except MissingTruth as exc:  # the claim was rolled back: the row is queued
        return _fail(factory, submission_id, str(exc), server_fault=True, claimed_at=None)
    if job is None:
        return "skipped"
    return _score(factory, submission_id, job)


def score_claimed(factory: SessionFactory, submission_id: int, claimed_at: datetime) -> str:
    """Score a submission a bulk rescore claimed at `claimed_at` (as `score_submission`)."""
    try:
        with committing(factory()) as session:
            job = _job(session, submission_id, claimed_at)
    except MissingTruth as exc:
        return _fail(factory, submission_id, str(exc), server_fault=True, claimed_at=claimed_at)
    return _score(factory, submission_id, job)


def _score(factory: SessionFactory, submission_id: int, job: Job) -> str:
    """Score a claimed submission outside any transaction, then store the result; one whose
    stored zip cannot be read fails (the server's fault), never scored from other bytes."""
    if job.unreadable is not None:
        return _fail(
            factory, submission_id, job.unreadable, server_fault=True, claimed_at=job.claimed_at
        )
    try:
        started = perf_counter()
        definition = job.definition
        predictions = read_submission(
            job.zip_bytes, definition=definition, track=job.track, splits=tuple(job.splits)
        )  # the splits the upload was checked for: any other is ignored, as it was then
        results = [score_split(predictions, job.truth, definition, s) for s in job.splits]
    except (InvalidInput, ScoringError) as exc:
        return _fail(
            factory, submission_id, str(exc), server_fault=False, claimed_at=job.claimed_at
        )
    elapsed = (perf_counter() - started) * 1000
    return _store(factory, submission_id, results, job, elapsed)


def score_then_intervals(
    factory: SessionFactory, submission_id: int, attempts: int, intervals: IntervalsQueue
) -> str:
    """Score one submission (as `score_submission`), then, if scored, `after_scored`: the
    one chain of the Celery worker and of the embedded scorer alike."""
    outcome = score_submission(factory, submission_id, attempts)
    if outcome == "scored":
        after_scored(submission_id, intervals)
    return outcome


def after_scored(submission_id: int, intervals: IntervalsQueue) -> None:
    """What follows a submission's scores, once committed (and shown): its bootstrap intervals,
    sent to their own lower-priority queue. If that fails the scores stand; the sweeper sends
    the intervals later."""
    try:
        intervals.send_intervals(submission_id)
    except Exception:
        log.warning("could not queue the intervals of %s; the sweeper will", submission_id)


def _claim(session: Session, submission_id: int, attempts: int) -> Job | None:
    """Claim a queued submission (`_take`) and read what scoring it needs; None when it is
    not claimed."""
    claimed_at = _take(session, submission_id, attempts)
    return None if claimed_at is None else _job(session, submission_id, claimed_at)


def _take(session: Session, submission_id: int, attempts: int) -> datetime | None:
    """Mark a queued submission as being scored: when, or None when it is not queued (being
    scored, or done: a duplicate message) or out of attempts (then it fails as the server's
    fault: a zip that kills its worker cannot loop for ever)."""
    claimed = session.execute(
        update(Submission)
        .where(
            Submission.id == submission_id,
            Submission.status == SubmissionStatus.QUEUED,
            Submission.attempts < attempts,
        )
        .values(
            status=SubmissionStatus.SCORING,
            attempts=Submission.attempts + 1,
            scoring_started_at=(claimed_at := utcnow()),
        )
    )
    if claimed.rowcount:  # type: ignore[attr-defined]
        return claimed_at
    spent = session.scalar(
        select(Submission)
        .where(Submission.id == submission_id, Submission.status == SubmissionStatus.QUEUED)
        .with_for_update()
    )
    if spent is not None:
        _give_up(spent, attempts)
        notify_done(session, submission_id)
        notices.submission_failed(session, submission_id)
    return None


def _job(session: Session, submission_id: int, claimed_at: datetime) -> Job:
    """What scoring a claimed submission needs (MissingTruth when its labels are not stored)."""
    track, phase, competition = session.execute(
        select(Track, Phase, Competition)
        .join(Submission, Submission.track_id == Track.id)
        .join(Phase, Phase.id == Submission.phase_id)
        .join(Competition, Competition.id == Track.competition_id)
        .where(Submission.id == submission_id)
    ).one()
    labels, scenarios, stamp = truth_of(session, track, phase.scored_splits)
    try:
        data, unreadable = zip_bytes(session, submission_id), None
    except zip_storage.ZipUnreadable as exc:
        data, unreadable = b"", exc.message
    return Job(
        zip_bytes=data,
        track=track.name,
        splits=list(phase.scored_splits),
        scenario_ids=scenarios,
        truth=labels,
        stamp=stamp,
        definition=definition_of(competition),
        claimed_at=claimed_at,
        unreadable=unreadable,
    )


def zip_bytes(session: Session, submission_id: int) -> bytes:
    """A submission's zip, from where it is stored, checked against its SHA-256 (ZipUnreadable
    when it does not match)."""
    return zip_storage.read(session, submission_id)


def _locked_if_claimed(
    session: Session, submission_id: int, claimed_at: datetime
) -> Submission | None:
    """The submission, locked, if it is still being scored by the claim made at `claimed_at`
    (not finished by a duplicate, not queued again by a rescore or new ground truth)."""
    submission = session.scalar(
        select(Submission).where(Submission.id == submission_id).with_for_update()
    )
    if submission is None or submission.status is not SubmissionStatus.SCORING:
        return None
    return submission if submission.scoring_started_at == claimed_at else None


def _locked_if_missing_truth(session: Session, submission_id: int) -> Submission | None:
    submission = session.scalar(
        select(Submission).where(Submission.id == submission_id).with_for_update()
    )
    if submission is None or submission.status is not SubmissionStatus.QUEUED:
        return None
    track = session.get_one(Track, submission.track_id)
    phase = session.get_one(Phase, submission.phase_id)
    try:
        truth_of(session, track, phase.scored_splits)
    except MissingTruth:
        return submission
    return None  # stored meanwhile: its own message (or the sweeper) scores it


def _store(
    factory: SessionFactory,
    submission_id: int,
    results: list[SplitScore],
    job: Job,
    elapsed_ms: float,
) -> str:
    """Every score and the status, in one transaction; a second run finds it done."""
    scenario_ids = job.scenario_ids
    with committing(factory()) as session:
        submission = _locked_if_claimed(session, submission_id, job.claimed_at)
        if submission is None or not _truth_current(session, job):
            return "skipped"
        session.execute(delete(Score).where(Score.submission_id == submission_id))
        session.execute(delete(Ranking).where(Ranking.submission_id == submission_id))
        now = utcnow()
        session.add_all(  # without intervals: a job computes them once this commits
            Ranking(
                submission_id=submission_id,
                split=r.split,
                ranking_score=r.ranking_score,
                ci_sent_at=now,
            )
            for r in results
        )
        session.add_all(
            Score(
                submission_id=submission_id,
                split=result.split,
                scenario_id=scenario_ids[name],
                metrics=scenario.metrics,
                roc=scenario.roc,
            )
            for result in results
            for name, scenario in result.scenarios.items()
        )
        submission.status = SubmissionStatus.SCORED
        submission.error, submission.server_fault = None, False
        submission.scored_at, submission.scoring_ms = utcnow(), round(elapsed_ms, 3)
        submission.scorer_version = SCORER_VERSION
        notify_done(session, submission_id)
    return "scored"


def _truth_current(session: Session, job: Job) -> bool:
    """True when the labels scored against are still the stored ones. An organizer who
    replaces them queues the submission again in the same transaction: scores of the old
    labels are then dropped, never stored over the new ones (read under the row's lock)."""
    rows = session.execute(
        select(TruthRow.scenario_id, TruthRow.split, TruthRow.packed_labels).where(
            TruthRow.scenario_id.in_(job.scenario_ids.values()), TruthRow.split.in_(job.splits)
        )
    ).tuples()
    return {(scenario, split): packed for scenario, split, packed in rows} == job.stamp


def _fail(
    factory: SessionFactory,
    submission_id: int,
    error: str,
    *,
    server_fault: bool,
    claimed_at: datetime | None,
) -> str:
    """Mark the submission failed: the one claimed at `claimed_at`, still being scored; or,
    with None (its ground truth was missing, so nothing was claimed), still queued and its
    ground truth still missing (an organizer may have stored it meanwhile)."""
    with committing(factory()) as session:
        if claimed_at is not None:
            submission = _locked_if_claimed(session, submission_id, claimed_at)
        else:
            submission = _locked_if_missing_truth(session, submission_id)
        if submission is None:
            return "skipped"
        submission.status, submission.error = SubmissionStatus.FAILED, error
        submission.server_fault = server_fault
        submission.scored_at = utcnow()
        notify_done(session, submission_id)
        notices.submission_failed(session, submission_id)
    return "failed"


def sweep(
    factory: SessionFactory,
    send: Callable[[int], None],
    *,
    stuck_after: timedelta,
    attempts: int,
    send_rescore: Callable[[int, int], None] | None = None,
) -> list[int]:
    """Resend the submissions left queued or scoring for `stuck_after`; give up on those that
    used every attempt (the server's fault: not counted). The ids resent, once committed.

    A bulk rescore's rows wait queued longer than that by design: while it moves they are
    left to it, and when it stopped (its message lost) it is started again, one message."""
    resent: list[int] = []
    with committing(factory()) as session:
        if not jobs.sweep_lock(session):
            return []
        cutoff = utcnow() - stuck_after
        stuck = session.scalars(
            select(Submission)
            .where(
                or_(
                    and_(
                        Submission.status == SubmissionStatus.QUEUED, Submission.queued_at < cutoff
                    ),
                    and_(
                        Submission.status == SubmissionStatus.SCORING,
                        Submission.scoring_started_at < cutoff,
                    ),
                )
            )
            .order_by(Submission.id)
            .limit(1000)
            .with_for_update(skip_locked=True)
        ).all()
        bulk = _bulk_tracks(session, stuck, cutoff, attempts, send_rescore)
        for submission in stuck:
            if submission.track_id in bulk and submission.status is SubmissionStatus.QUEUED:
                continue  # a bulk rescore's, moving or started again
            if submission.attempts >= attempts:
                _give_up(submission, attempts)
                notify_done(session, submission.id)
                notices.submission_failed(session, submission.id)
                continue
            submission.status, submission.queued_at = SubmissionStatus.QUEUED, utcnow()
            resent.append(submission.id)
        jobs.after_commit(session, partial(jobs.send_each, send, resent))
    if resent:
        log.warning("sweeper resent %d stuck submissions: %s", len(resent), resent[:20])
    return resent


def _bulk_tracks(
    session: Session,
    stuck: Sequence[Submission],
    cutoff: datetime,
    attempts: int,
    send_rescore: Callable[[int, int], None] | None,
) -> set[int]:
    """The tracks whose stuck queued rows are a bulk rescore's (BULK_FROM or more of them):
    left alone while it moves (a row of the track claimed since `cutoff`), started again
    otherwise (its rows' wait starting afresh, so the next sweeps leave them alone too)."""
    if send_rescore is None:
        return set()
    waiting = Counter(
        s.track_id for s in stuck if s.status is SubmissionStatus.QUEUED and s.attempts < attempts
    )
    bulk = {track for track, count in waiting.items() if count >= BULK_FROM}
    for track in bulk:
        moving = session.scalar(
            select(Submission.id)
            .where(Submission.track_id == track, Submission.scoring_started_at >= cutoff)
            .limit(1)
        )
        if moving is not None:
            continue
        session.execute(
            update(Submission)
            .where(
                Submission.track_id == track,
                Submission.status == SubmissionStatus.QUEUED,
                Submission.queued_at < cutoff,
            )
            .values(queued_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        log.warning("the bulk rescore of track %s stopped; starting it again", track)
        jobs.after_commit(session, partial(send_rescore, track, 0))
    return bulk


def _give_up(submission: Submission, attempts: int) -> None:
    log.error("submission %s failed to score %d times; giving up", submission.id, attempts)
    submission.status, submission.server_fault = SubmissionStatus.FAILED, True
    submission.error = (
        f"the server could not score this submission in {attempts} attempts; it does not "
        "count against your limits, and the organizers can rescore it"
    )
    submission.scored_at = utcnow()


def dispatcher_for(settings: Settings, factory: SessionFactory) -> jobs.Dispatcher:
    """Celery through Redis when REDIS_URL is set; otherwise threads of this process running
    this module's scoring, then (when no scoring waits) the intervals (the embedded mode)."""
    if settings.redis_url:
        return jobs.CeleryDispatcher(settings.redis_url)

    def run(submission_id: int) -> None:
        score_then_intervals(factory, submission_id, settings.scoring_attempts, dispatcher)

    def step(track_id: int, after_id: int) -> None:
        rescore_step(factory, track_id, after_id, settings.scoring_attempts, dispatcher)

    intervals = partial(compute_intervals, factory)
    dispatcher = jobs.ThreadDispatcher(run, settings.embedded_scorer_threads, intervals, step)
    return dispatcher


class Sweeper(threading.Thread):
    """The sweep, every `interval` seconds, in a daemon thread of a worker or web server: stuck
    submissions, then (with `send_intervals`) intervals still missing `stuck_after` on."""

    def __init__(
        self,
        factory: SessionFactory,
        send: Callable[[int], None],
        *,
        interval: float,
        stuck_after: float,
        attempts: int,
        send_intervals: Callable[[int], None] | None = None,
        send_rescore: Callable[[int, int], None] | None = None,
    ) -> None:
        super().__init__(name="mia-sweeper", daemon=True)
        self._args = (factory, send)
        self._send_rescore = send_rescore
        self._every, self._attempts = interval, attempts
        self._stuck_after = timedelta(seconds=stuck_after)
        self._send_intervals = send_intervals
        self.stopped = threading.Event()

    @classmethod
    def from_settings(
        cls, factory: SessionFactory, dispatcher: jobs.Dispatcher, settings: Settings
    ) -> Sweeper:
        """A sweeper sending to `dispatcher`, with the configured interval, timeout, attempts."""
        return cls(
            factory,
            dispatcher.send,
            interval=settings.sweep_interval_seconds,
            stuck_after=settings.stuck_after_seconds,
            attempts=settings.scoring_attempts,
            send_intervals=dispatcher.send_intervals,
            send_rescore=dispatcher.send_rescore,
        )

    def run(self) -> None:
        while not self.stopped.wait(self._every):
            try:
                sweep(
                    *self._args,
                    stuck_after=self._stuck_after,
                    attempts=self._attempts,
                    send_rescore=self._send_rescore,
                )
                if self._send_intervals is not None:
                    sweep_intervals(self._args[0], self._send_intervals, after=self._stuck_after)
            except Exception:  # the database may be away for a while: try again next time
                log.exception("the sweep failed; trying again in %s s", self._every)


def rescore(
    session: Session,
    send: Callable[[int], None],
    submissions: list[Submission],
) -> list[int]:
    """Queue submissions to be scored again (their scores replaced when done); sent once
    committed. Their attempts start again."""
    ids = []
    for submission in submissions:
        for column, value in _queued_again().items():
            setattr(submission, column, value)
        ids.append(submission.id)
    jobs.after_commit(session, partial(jobs.send_each, send, ids))
    return ids


def _queued_again() -> dict[str, object]:
    """What queuing a submission to be scored again sets: queued now, no error, its
    attempts starting again (one row at a time, or a track's in one UPDATE)."""
    return {
        "status": SubmissionStatus.QUEUED,
        "error": None,
        "server_fault": False,
        "attempts": 0,
        "queued_at": utcnow(),
    }


def rescore_track(
    session: Session,
    dispatcher: jobs.Dispatcher,
    track_id: int,
    *only: ColumnElement[bool],
) -> int:
    """Queue a track's submissions (those matching `only`, if given) to be scored again, with
    one UPDATE; their attempts start again. Once committed: BULK_FROM or more are sent as one
    message, a bulk rescore the workers pass on; fewer one message each. How many."""
    queued = session.execute(
        update(Submission)
        .where(Submission.track_id == track_id, *only)
        .values(_queued_again())
        .returning(Submission.id, Submission.user_id, Submission.team_id)
        .execution_options(synchronize_session=False)
    ).all()
    ids = [submission_id for submission_id, _, _ in queued]
    session.expire_all()  # loaded rows of the track show their new status
    owners = {representative.key_of(user, team) for _, user, team in queued}
    representative.refresh(session, track_id, owners)  # off the boards until scored again
    if len(ids) >= BULK_FROM:
        jobs.after_commit(session, partial(dispatcher.send_rescore, track_id, 0))
    else:
        jobs.after_commit(session, partial(jobs.send_each, dispatcher.send, sorted(ids)))
    return len(ids)


def rescore_step(
    factory: SessionFactory,
    track_id: int,
    after_id: int,
    attempts: int,
    queue: RescoreQueue,
    *,
    step: int = STEP,
) -> int:
    """One step of a track's bulk rescore: claim up to `step` of its queued submissions with an
    id above `after_id`, send the next step (another worker takes it while this one scores),
    then score them one after the other, each as an upload is. How many it picked: none ends
    the rescore. A step that dies leaves its rows being scored: the sweeper resends them.
    """
    with committing(factory()) as session:
        picked = session.scalars(
            select(Submission.id)
            .where(
                Submission.track_id == track_id,
                Submission.status == SubmissionStatus.QUEUED,
                Submission.attempts < attempts,
                Submission.id > after_id,
            )
            .order_by(Submission.id)
            .limit(step)
            .with_for_update(skip_locked=True)
        ).all()
        claimed_at = utcnow()
        ids = sorted(
            session.scalars(
                update(Submission)
                .where(Submission.id.in_(picked), Submission.status == SubmissionStatus.QUEUED)
                .values(
                    status=SubmissionStatus.SCORING,
                    attempts=Submission.attempts + 1,
                    scoring_started_at=claimed_at,
                )
                .returning(Submission.id)
                .execution_options(synchronize_session=False)
            )
        )
    if not picked:
        return 0
    try:
        queue.send_rescore(track_id, picked[-1])
    except Exception:  # these rows are scored still; the sweeper starts the rest again
        log.warning("could not send the next step of track %s's rescore", track_id)
    for submission_id in ids:
        if score_claimed(factory, submission_id, claimed_at) == "scored":
            after_scored(submission_id, queue)
    return len(picked)


def rescore_until_done(
    factory: SessionFactory, track_id: int, attempts: int, intervals: IntervalsQueue
) -> int:
    """A track's bulk rescore in this thread, step after step (the command line without
    Redis): how many it picked."""

    class _Here:
        after = 0

        def send_rescore(self, _: int, after_id: int) -> None:
            self.after = after_id

        def send_intervals(self, submission_id: int) -> None:
            intervals.send_intervals(submission_id)

    here, done = _Here(), 0
    while claimed := rescore_step(factory, track_id, here.after, attempts, here):
        done += claimed
    return done
