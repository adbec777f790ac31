"""Organizers' downloads of submissions: one stored zip, or the representative submission of
every participant on a track's split as one zip, streamed entry by entry (one submission's
bytes in memory at a time) with a manifest. Every download goes to the audit log."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.admin.truth.service import truth_digest
from app.competitions import audit
from app.competitions.visibility import splits_of
from app.core import zip_storage
from app.core.db import committing
from app.core.downloads import spreadsheet_safe
from app.core.errors import NotFound
from app.leaderboard.service import standings, with_rank_intervals
from app.models.competition import Competition
from app.models.submission import Submission
from app.models.team import Team
from app.models.track import Track
from app.models.user import User
from app.results.service import awards_of, final_split

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_DOTS = re.compile(r"\.{2,}")
MANIFEST_COLUMNS = ("rank", "participant", "submission_id", "sha256", "ranking_score", "file")


def safe_name(text: str, *, fallback: str = "participant", length: int = 40) -> str:
    """`text` as a piece of a file name any system takes: ASCII letters (accents dropped,
    full-width forms folded), digits, '.', '-' and '_', every other run of characters one
    '-'; no separator, no NUL, no '..', no leading dot, at most `length` characters;
    `fallback` when nothing is left (a name in another script)."""
    letters = (c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    folded = "".join(letters).encode("ascii", "replace").decode()
    name = _DOTS.sub(".", _UNSAFE.sub("-", folded)).strip(".-_")[:length].strip(".-_")
    return name or fallback


def _owner_name(session: Session, submission: Submission) -> str:
    """The team's name for a team's submission, the uploader's display name otherwise."""
    if submission.team_id is not None:
        team = session.get(Team, submission.team_id)
        if team is not None:
            return team.name
    return session.get_one(User, submission.user_id).display_name


def submission_zip(
    session: Session, competition: Competition, organizer: User, submission: Submission
) -> tuple[str, bytes]:
    """A submission's stored zip, as uploaded, and a file name for it such as
    `mico-cifar10-ada-17.zip`."""
    track = session.get_one(Track, submission.track_id)
    participant = safe_name(_owner_name(session, submission))
    name = f"{safe_name(competition.slug)}-{safe_name(track.name)}-{participant}-{submission.id}"
    data = zip_storage.read(session, submission.id)  # a damaged one: 503, nothing audited
    audit.record(
        session, competition, organizer, "submission.download", {"submission": submission.id}
    )
    return f"{name}.zip", data


@dataclass(frozen=True)
class Representative:
    """A participant's representative submission on a split, and its entry in the zip."""

    rank: int
    participant: str
    submission_id: int
    sha256: str
    ranking_score: float
    submitted_at: datetime
    entry: str


def representatives(
    session: Session, competition: Competition, organizer: User, track: Track, split: str
) -> list[Representative]:
    """Each participant's representative submission on `split`, in rank order: the exact
    standings organizers see (never the Ladder's), hidden splits included."""
    splits = splits_of(session, competition)
    if split not in splits:
        known = ", ".join(splits)
        raise NotFound(f"{competition.title} has no split '{split[:32]}'; its splits: {known}")
    entries = standings(session, competition, track, split, exact=True)
    digests = dict(
        session.execute(
            select(Submission.id, Submission.sha256).where(
                Submission.id.in_([e.submission_id for e in entries])
            )
        )
        .tuples()
        .all()
    )
    width = max(3, len(str(len(entries))))
    chosen = [
        Representative(
            rank=e.rank,
            participant=e.participant,
            submission_id=e.submission_id,
            sha256=digests[e.submission_id],
            ranking_score=e.ranking_score,
            submitted_at=e.submitted_at,
            entry=f"{e.rank:0{width}d}-{safe_name(e.participant)}-{e.submission_id}.zip",
        )
        for e in entries
    ]
    audit.record(
        session,
        competition,
        organizer,
        "submissions.download-representatives",
        {"track": track.name, "split": split, "count": len(chosen)},
    )
    return chosen


class _Sink(io.RawIOBase):
    """Where the zip is written: it keeps what was written until taken (no seek, no tell,
    so zipfile writes data descriptors and never goes back)."""

    def __init__(self) -> None:
        super().__init__()
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self._chunks.append(bytes(data))
        return len(data)

    def take(self) -> list[bytes]:
        """What was written since the last call."""
        chunks, self._chunks = self._chunks, []
        return chunks


def stream_zip(factory: Callable[[], Session], chosen: list[Representative]) -> Iterator[bytes]:
    """The zip of the representatives' stored zips (kept as they are: zips do not compress
    again) and `manifest.csv`, made while it is sent: each submission's bytes are read in a
    session of its own, written, handed on and dropped before the next is read."""
    sink = _Sink()
    written: list[Representative] = []
    with committing(factory()) as session, zipfile.ZipFile(sink, "w") as archive:
        for rep in chosen:
            try:
                data = zip_storage.read(session, rep.submission_id)
            except zip_storage.ZipUnreadable:  # logged; the manifest lists only those sent
                continue
            if not data:  # deleted since the standings were read
                continue
            archive.writestr(_entry(rep.entry, rep.submitted_at), data)
            del data
            written.append(rep)
            yield from sink.take()
        archive.writestr(_entry("manifest.csv", None), manifest(written))
    yield from sink.take()  # the central directory, written on closing


def _entry(name: str, at: datetime | None) -> zipfile.ZipInfo:
    when = at.timetuple()[:6] if at is not None and at.year >= 1980 else (1980, 1, 1, 0, 0, 0)
    info = zipfile.ZipInfo(name, date_time=when)
    info.compress_type = zipfile.ZIP_DEFLATED if name.endswith(".csv") else zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    return info


def manifest(chosen: list[Representative]) -> str:
    """The CSV naming each entry: rank, participant (safe to open in a spreadsheet),
    submission id, the zip's SHA-256, the exact ranking score, and the entry's name."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(MANIFEST_COLUMNS)
    for rep in chosen:
        writer.writerow(
            (
                rep.rank,
                spreadsheet_safe(_printable(rep.participant)),
                rep.submission_id,
                rep.sha256,
                repr(rep.ranking_score),
                rep.entry,
            )
        )
    return out.getvalue()


def _printable(text: str) -> str:
    """Control characters (a NUL, a line break) written as escapes: one name, one cell."""
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text)


def export(
    session: Session, competition: Competition, organizer: User, track: Track
) -> list[dict[str, Any]]:
    """Every ranked row of a track on every split, exact, with its intervals (score and rank),
    its provenance (the zip's SHA-256, the scorer's version, the ground truth's digest, when it
    was scored), its method and links, and on the final split the award announced for it."""
    rows = []
    final = final_split(session, competition)
    awarded = {a.submission_id: a.title for a in awards_of(session, track) if a.submission_id}
    for split in splits_of(session, competition):
        digest = truth_digest(session, track, split)
        entries = with_rank_intervals(session, split, standings(session, competition, track, split))
        stored = {
            s.id: s
            for s in session.execute(
                select(
                    Submission.id,
                    Submission.sha256,
                    Submission.scorer_version,
                    Submission.scored_at,
                    Submission.method_name,
                    Submission.writeup_url,
                    Submission.code_url,
                ).where(Submission.id.in_([e.submission_id for e in entries]))
            )
        }
        for entry in entries:
            submission = stored[entry.submission_id]
            rows.append(
                {
                    "split": split,
                    **{k: v for k, v in entry.to_dict().items() if k != "revealed_rank"},
                    "sha256": submission.sha256,
                    "scorer_version": submission.scorer_version,
                    "ground_truth_sha256": digest,
                    "scored_at": submission.scored_at.isoformat() if submission.scored_at else None,
                    "method_name": submission.method_name,
                    "writeup_url": submission.writeup_url,
                    "code_url": submission.code_url,
                    # Announced on the final leaderboard only: its rows carry the award.
                    "award": awarded.get(entry.submission_id) if split == final else None,
                }
            )
    audit.record(session, competition, organizer, "results.export", {"track": track.name})
    return rows
