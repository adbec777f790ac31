"""The two ways of laying out a tree's files agree."""

from __future__ import annotations

import pytest

from app.scoring.definition import MICO
from app.scoring.layout import exact_layout, lay_out

KIT = [
    f"{scenario}/{split}/model_{i}/prediction.csv"
    for scenario in MICO.track("sst2").scenarios
    for split in ("dev", "final")
    for i in MICO.split(split).model_ids
]


@pytest.mark.parametrize("base", ["", "sst2/", "my_submission/sst2/", "data/mico/sst2/"])
def test_exact_layout_equals_placing_each_file(base: str) -> None:
    """The name-set shortcut gives the very files and track that placing each file gives."""
    paths = [base + p for p in reversed(KIT)]
    kwargs = {"filename": "prediction.csv", "track": None}
    fast = exact_layout(paths, MICO, splits=MICO.required_splits, **kwargs)
    slow = lay_out(
        paths, MICO, name="x.zip", single_track=True, required_splits=MICO.required_splits, **kwargs
    )
    assert fast is not None and slow.problems == []
    assert fast.files == slow.files and fast.tracks == slow.tracks


@pytest.mark.parametrize(
    "paths",
    [
        KIT[:-1],  # one missing
        KIT + [KIT[0]],  # one twice
        KIT[:-1] + ["sst2_lo/test/model_199/prediction.csv"],  # an alias
        [p.replace("prediction", "Prediction") for p in KIT],  # another letter case
        ["cifar10/" + p for p in KIT],  # inside another track's folder
    ],
    ids=["missing", "twice", "alias", "case", "other-track-folder"],
)
def test_exact_layout_leaves_everything_else_to_placing(paths: list[str]) -> None:
    """Any departure from the expected names falls back to the path that explains it."""
    assert (
        exact_layout(
            paths, MICO, filename="prediction.csv", track=None, splits=MICO.required_splits
        )
        is None
    )
