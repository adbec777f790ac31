"""A version 2 definition of a made-up competition: every way of naming models, another
aggregate and comparison, read and scored with no code of its own."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import roc_curve

from app.scoring.definition import Definition, DefinitionError
from app.scoring.problems import InvalidInput
from app.scoring.readers import read_submission, read_truth
from app.scoring.scorer import codabench_scores, score_split

POINTS = 20
SPEC: dict[str, Any] = {
    "version": 2,
    "slug": "toy",
    "tracks": [
        {"name": "vision", "ranking": "min", "scenarios": ["v_lo", "v_hi"]},
        {"name": "text", "model_types": [{"name": "t_a", "optional": True}, "t_b"]},
    ],
    "splits": [
        {"name": "dev", "ids": [7, 3, 12], "folder": "m{id}"},
        {
            "name": "final",
            "aliases": ["holdout"],
            "models": {
                "vision": {"first": 20, "last": 21, "folder": "net-{id}"},
                "t_a": ["alpha", "beta"],
                "t_b": ["gamma"],
            },
        },
    ],
    "files": {
        "predictions": "{track}/{scenario}/{split}/{model}/guess.txt",
        "labels": "{track}/{scenario}/{split}/{model}/truth.txt",
        "points_per_model": POINTS,
    },
    "metrics": {
        "fpr_thresholds": [0.25],
        "ranking_threshold": 0.25,
        "comparison": "<=",
        "codabench": {"score": "ranking_score", "auc": "AUC"},
    },
    "phases": [{"name": "Only", "carries": ["dev", "final"], "shown": ["final"]}],
}
TOY = Definition.from_dict(SPEC)


def labels(scenario: str, model: str) -> list[int]:
    """Half members, in an order fixed by the names."""
    rng = np.random.default_rng([ord(c) for c in scenario + model])
    return [int(v) for v in rng.permutation([0, 1] * (POINTS // 2))]


def guesses(scenario: str, model: str) -> list[float]:
    """Noisy, rounded guesses: ties, so the comparison matters."""
    y = np.array(labels(scenario, model))
    rng = np.random.default_rng([ord(c) for c in model + scenario])
    return np.round(
        np.clip(0.5 + 0.3 * (y - 0.5) + 0.3 * rng.normal(size=y.size), 0, 1), 1
    ).tolist()


def tree(
    kind: str, track: str, *, leave_out: tuple[str, ...] = ()
) -> dict[str, list[float] | list[int]]:
    """Paths and values of one track's label (`truth`) or prediction (`guess`) files."""
    out: dict[str, list[float] | list[int]] = {}
    for scenario in TOY.track(track).scenarios:
        if scenario in leave_out:
            continue
        for split in ("dev", "final"):
            for model in TOY.models(scenario, split):
                values = labels(scenario, model) if kind == "truth" else guesses(scenario, model)
                out[f"{track}/{scenario}/{split}/{model}/{kind}.txt"] = values
    return out


def zipped(files: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for path, values in files.items():
            zf.writestr(path, ",".join(map(str, values)))
    return buffer.getvalue()


def test_models_by_id_list_by_range_per_track_and_by_name(tmp_path: Path) -> None:
    """dev: ids 7, 3, 12 in m{id} folders, in that order; final: a range per track, names
    per scenario; the aliases of a split; the scoring order is the listed order."""
    assert list(TOY.models("v_lo", "dev")) == ["m7", "m3", "m12"]
    assert list(TOY.models("v_hi", "final")) == ["net-20", "net-21"]
    assert list(TOY.models("t_a", "final")) == ["alpha", "beta"]
    assert TOY.split("HOLDOUT").name == "final"
    assert TOY.track("text").optional == {"t_a"} and TOY.phase("only").shown == ("final",)
    assert Definition.from_dict(TOY.to_dict()) == TOY
    (tmp_path / "toy.json").write_text(json.dumps(SPEC))
    assert Definition.load(tmp_path / "toy.json") == TOY


@pytest.mark.parametrize("split", ["dev", "final"])
def test_min_over_scenarios_with_fpr_at_most_the_threshold(tmp_path: Path, split: str) -> None:
    """The track's score is the worst scenario's TPR among ROC points with FPR <= 0.25, the
    values of all its models pooled in the listed order."""
    truth = tmp_path / "truth.zip"
    truth.write_bytes(zipped(tree("truth", "vision") | tree("truth", "text")))
    result = score_split(
        read_submission(zipped(tree("guess", "vision")), definition=TOY),
        read_truth(truth, definition=TOY),
        TOY,
        split,
    )
    expected = {}
    for scenario in ("v_hi", "v_lo"):
        models = TOY.models(scenario, split)
        y = np.concatenate([labels(scenario, m) for m in models])
        p = np.concatenate([guesses(scenario, m) for m in models])
        fpr, tpr, _ = roc_curve(y, p)
        expected[scenario] = float(max(tpr[fpr <= 0.25]))
        assert result.scenarios[scenario].metrics["TPR_FPR_2500"] == expected[scenario]
    assert result.ranking_score == min(expected.values())
    aucs = [s.metrics["AUC"] for s in result.scenarios.values()]
    assert codabench_scores(result, TOY) == {"score": result.ranking_score, "auc": min(aucs)}


def test_an_optional_type_may_be_left_out_but_not_a_required_one() -> None:
    """t_a is optional, t_b is not."""
    without_a = read_submission(zipped(tree("guess", "text", leave_out=("t_a",))), definition=TOY)
    assert sorted(without_a.values) == [("t_b", "dev"), ("t_b", "final")]
    with pytest.raises(InvalidInput) as caught:
        read_submission(zipped(tree("guess", "text", leave_out=("t_b",))), definition=TOY)
    assert [str(p) for p in caught.value.problems] == [
        # The template says {scenario}, so the messages do (MIDST's {type}: "model type").
        "text/t_b/: scenario missing (expected its dev and final files)"
    ]


def test_a_model_folder_against_the_pattern_is_named() -> None:
    """A split named by a pattern refuses folders outside it, naming the pattern."""
    files = tree("guess", "vision")
    files["vision/v_lo/dev/model_7/guess.txt"] = files.pop("vision/v_lo/dev/m7/guess.txt")
    with pytest.raises(InvalidInput) as caught:
        read_submission(zipped(files), definition=TOY)
    assert "vision/v_lo/dev/: 1 of 3 models missing: m7" in str(caught.value)
    assert "model_7 is not a model of the dev split (3 models: m7 to m12)" in str(
        caught.value.warnings
    )


@pytest.mark.parametrize(
    ("path", "value", "error"),
    [
        (("splits", 0, "ids"), [7, 7], "splits[0].ids: 'm7' is listed twice"),
        (("splits", 0, "folder"), "m", "splits[0].folder: expected a folder name holding {id}"),
        (("tracks", 1, "model_types", 1), 3, "tracks[1].model_types[1]: expected a mapping"),
        (("files", "points_per_model"), "20", "files.points_per_model: expected a whole number"),
        (("metrics", "fpr_thresholds"), [], "metrics.fpr_thresholds: expected a non-empty list"),
        (("version",), 3, "version: expected 1 or 2, not 3"),
    ],
)
def test_each_fault_names_its_field(path: tuple[Any, ...], value: Any, error: str) -> None:
    """The error starts with the field's path, then what it expected."""
    spec = json.loads(json.dumps(SPEC))
    target = spec
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(DefinitionError) as caught:
        Definition.from_dict(spec)
    assert str(caught.value).startswith(error)
