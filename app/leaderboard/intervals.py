"""The intervals job: a scored submission's 95% cluster-bootstrap interval of its ranking score,
per split, and its replicates' scores (for rank intervals), computed after its scores are
committed and shown, at low priority. Every submission of a track and split is resampled with
the same weights (`seed_of`).

Safe to run any number of times, at once or one after the other: it computes only rankings
still without an interval, and writes them only if the submission is still scored as it was
read and the score it recomputes is the stored one (a rescore, new ground truth or a deletion
meanwhile: nothing is written; a rescore sends a job of its own). It never fails a submission.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from app.competitions.service import definition_of
from app.competitions.truth import MissingTruth, truth_of
from app.core import jobs, zip_storage
from app.core.db import SessionFactory, committing
from app.models.base import utcnow
from app.models.competition import Competition
from app.models.phase import Phase
from app.models.ranking import Ranking
from app.models.submission import Submission, SubmissionStatus
from app.models.track import Track
from app.scoring.bootstrap import Interval, ranking_interval
from app.scoring.definition import Definition
from app.scoring.problems import InvalidInput
from app.scoring.readers import GroundTruth, read_submission

log = logging.getLogger(__name__)
SEED = 0x6D69615F6369  # "mia_ci": with the track id and the split, the replicates' seed
BATCH = 200  # rankings the sweeper sends again at most, per sweep


@dataclass
class Job:
    """What computing one submission's intervals needs, read in one short transaction."""

    zip_bytes: bytes
    track: str
    track_id: int
    scores: dict[str, float]  # split -> the stored ranking score, for splits without interval
    truth: GroundTruth
    definition: Definition  # read in the reading session: tracks and scenarios as stored
    scored_at: datetime


def compute_intervals(factory: SessionFactory, submission_id: int) -> str:
    """The intervals of every scored split still without one: `done` or `skipped`."""
    try:
        with committing(factory()) as session:
            job = _read(session, submission_id)
    except zip_storage.ZipUnreadable:  # logged as it was read; the scores stand
        return "skipped"
    if job is None:
        return "skipped"
    definition = job.definition
    try:
        predictions = read_submission(job.zip_bytes, definition=definition, track=job.track)
        intervals = {
            split: ranking_interval(
                predictions, job.truth, definition, split, seed=seed_of(job.track_id, split)
            )
            for split in job.scores
        }
    except (InvalidInput, ValueError) as exc:  # scored once, so only if the data changed
        log.warning("no interval for submission %s: %s", submission_id, exc)
        return "skipped"
    with committing(factory()) as session:
        written = _write(session, submission_id, job, intervals)
    return "done" if written else "skipped"


def seed_of(track_id: int, split: str) -> tuple[int, int, int]:
    """The same replicates for every submission of a track on a split, every time: common
    replicates, so that one replicate ranks the submissions against one another."""
    return (SEED, track_id, zlib.crc32(split.encode()))


def _read(session: Session, submission_id: int) -> Job | None:
    """The submission's zip, labels and scores to explain; None when it is not scored (any
    more), every split has its interval, or its ground truth is gone."""
    found = session.execute(
        select(Submission.scored_at, Track, Phase, Competition)
        .join(Track, Track.id == Submission.track_id)
        .join(Phase, Phase.id == Submission.phase_id)
        .join(Competition, Competition.id == Track.competition_id)
        .where(Submission.id == submission_id, Submission.status == SubmissionStatus.SCORED)
    ).one_or_none()
    if found is None or found.scored_at is None:
        return None
    scores = dict(
        session.execute(
            select(Ranking.split, Ranking.ranking_score).where(
                Ranking.submission_id == submission_id, Ranking.ci_low.is_(None)
            )
        )
        .tuples()
        .all()  # a Result has keys(): dict() would take it for a mapping
    )
    if not scores:
        return None
    try:
        truth, _, _ = truth_of(session, found.Track, list(scores))
    except MissingTruth:
        return None
    return Job(
        zip_bytes=zip_storage.read(session, submission_id),
        track=found.Track.name,
        track_id=found.Track.id,
        scores=scores,
        truth=truth,
        definition=definition_of(found.Competition),
        scored_at=found.scored_at,
    )


def _write(session: Session, submission_id: int, job: Job, intervals: dict[str, Interval]) -> bool:
    """Store the intervals, under the submission's lock (the one scoring takes), if it is still
    scored as read and each recomputed score is the stored one."""
    scored_at = session.scalar(
        select(Submission.scored_at)
        .where(Submission.id == submission_id, Submission.status == SubmissionStatus.SCORED)
        .with_for_update()
    )
    if scored_at != job.scored_at:
        return False
    written = 0
    for split, interval in intervals.items():
        if interval.estimate != job.scores[split]:  # the ground truth changed since
            log.warning("submission %s: %s score differs from stored", submission_id, split)
            continue
        result = session.execute(
            update(Ranking)
            .where(
                Ranking.submission_id == submission_id,
                Ranking.split == split,
                Ranking.ranking_score == interval.estimate,
                Ranking.ci_low.is_(None),
            )
            .values(
                ci_low=interval.low,
                ci_high=interval.high,
                replicates=interval.replicated.astype("<f4").tobytes(),
            )
        )
        written += result.rowcount  # type: ignore[attr-defined]
    return written > 0


def sweep_intervals(
    factory: SessionFactory, send: Callable[[int], None], *, after: timedelta
) -> list[int]:
    """Send again the intervals jobs of scored submissions still without an interval `after`
    their last sending (a crash, a lost message; rows scored before intervals existed): at
    most BATCH rankings a sweep, through the index of missing intervals. The ids, once
    committed."""
    with committing(factory()) as session:
        if not jobs.sweep_lock(session):
            return []
        cutoff = utcnow() - after
        waiting = (
            select(Ranking.submission_id, Ranking.split)
            .join(Submission, Submission.id == Ranking.submission_id)
            .where(
                Ranking.ci_low.is_(None),
                or_(Ranking.ci_sent_at.is_(None), Ranking.ci_sent_at < cutoff),
                Submission.status == SubmissionStatus.SCORED,
            )
            .order_by(Ranking.ci_sent_at.is_not(None), Ranking.ci_sent_at, Ranking.submission_id)
            .limit(BATCH)
        )
        rows = session.execute(waiting).all()
        ids = list(dict.fromkeys(row.submission_id for row in rows))
        if ids:
            session.execute(
                update(Ranking)
                .where(Ranking.submission_id.in_(ids), Ranking.ci_low.is_(None))
                .values(ci_sent_at=utcnow())
            )
        jobs.after_commit(session, partial(jobs.send_each, send, ids))
    if ids:
        log.info("sweeper sent %d intervals jobs again: %s", len(ids), ids[:20])
    return ids
