"""A track's ground truth as scoring reads it: the stored labels of some splits, unpacked."""

from __future__ import annotations

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models.ground_truth import GroundTruth as TruthRow
from app.models.scenario import Scenario
from app.models.track import Track
from app.scoring.readers import GroundTruth


class MissingTruth(Exception):
    """The organizers have not stored the labels a submission needs: the server's fault."""


def truth_of(
    session: Session, track: Track, splits: list[str]
) -> tuple[GroundTruth, dict[str, int], dict[tuple[int, str], bytes]]:
    """The track's labels for these splits, unpacked, its scenarios' ids by name, and the
    packed labels by (scenario id, split); MissingTruth names what is absent."""
    rows = session.execute(
        select(Scenario.name, Scenario.id, TruthRow)
        .outerjoin(TruthRow, (TruthRow.scenario_id == Scenario.id) & TruthRow.split.in_(splits))
        .where(Scenario.track_id == track.id)
    ).tuples()
    scenarios: dict[str, int] = {}
    labels = {}
    stamp = {}
    for name, scenario_id, row in rows:
        scenarios[name] = scenario_id
        if row is not None:
            stamp[scenario_id, row.split] = row.packed_labels
            unpacked = np.unpackbits(
                np.frombuffer(row.packed_labels, np.uint8), count=row.models * row.points_per_model
            )
            labels[name, row.split] = unpacked.astype(np.float64)
    missing = [f"{n} ({split})" for n in scenarios for split in splits if (n, split) not in labels]
    if missing:
        raise MissingTruth(
            "the organizers have not stored the ground truth of "
            + ", ".join(missing)
            + "; this does not count against your limits, and they can rescore it once they do"
        )
    return GroundTruth(labels=labels, tracks=(track.name,)), scenarios, stamp
