"""MIDST from its shipped definitions, on the released labels, scored as its official program does.

The reference is MIDST's way restated: per model type, the predictions and labels of all its
models of the split concatenated in the order of `{name}_mapping_final.json`, scikit-learn's
`roc_curve`, the largest TPR among points with FPR < 0.1; the track's score is the maximum over
the model types present. Labels and mappings are read from the released data at test time.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray
from sklearn.metrics import roc_auc_score, roc_curve

from app.scoring.definition import MICO, Definition, DefinitionError
from app.scoring.problems import InvalidInput
from app.scoring.readers import GroundTruth, read_submission, read_truth
from app.scoring.scorer import codabench_scores, mean_ranks, score_split
from tests.fixtures.midst import (
    BLACK_SINGLE,
    DEFINITIONS,
    TRACKS,
    data_folder,
    definition,
    mapping,
    needs_data,
    submission,
)

CLI = str(Path(sys.executable).with_name("mia-arena"))


def official_tpr(labels: NDArray[np.int64], predictions: NDArray[np.float64]) -> float:
    """MIDST's TPR at FPR 10%: the largest TPR among roc_curve points with FPR < 0.1."""
    fpr, tpr, _ = roc_curve(labels, predictions)
    return float(max(tpr[fpr < 0.1]))


def truth(slug: str) -> GroundTruth:
    """The released labels through the definition's label layout."""
    return read_truth(data_folder(slug), definition=definition(slug))


@needs_data
@pytest.mark.parametrize("slug", sorted(TRACKS))
@pytest.mark.parametrize("split", ["dev", "final"])
def test_score_is_midst_s_max_over_types_of_pooled_tpr(slug: str, split: str) -> None:
    """Every model type's TPR at FPR < 10% on its pooled models, and their max, to 1e-12;
    AUC, accuracy and advantage as scikit-learn's curve gives them."""
    d = definition(slug)
    data, pooled = submission(slug, decimals=3)
    result = score_split(read_submission(data, definition=d), truth(slug), d, split)
    expected = {t: official_tpr(*pooled[t, s]) for t, s in pooled if s == split}
    assert set(result.scenarios) == set(expected)
    for model_type, tpr in expected.items():
        metrics = result.scenarios[model_type].metrics
        y, p = pooled[model_type, split]
        fpr, tprs, _ = roc_curve(y, p)
        assert abs(metrics["TPR_FPR_1000"] - tpr) <= 1e-12
        assert abs(metrics["AUC"] - roc_auc_score(y, p)) <= 1e-12
        assert abs(metrics["MIA"] - np.max(tprs - fpr)) <= 1e-12
        assert abs(metrics["accuracy"] - np.max(1 - (fpr + (1 - tprs)) / 2)) <= 1e-12
    assert result.ranking_score == max(expected.values())
    assert codabench_scores(result, d) == {"tpr_at_fpr": result.ranking_score}


@needs_data
def test_a_model_type_left_out_is_skipped() -> None:
    """MIDST allowed a submission for one model type: the score is that type's."""
    d = definition(BLACK_SINGLE)
    data, pooled = submission(BLACK_SINGLE, types=("tabsyn_black_box",))
    read = read_submission(data, definition=d)
    assert read.warnings == ()
    result = score_split(read, truth(BLACK_SINGLE), d, "dev")
    assert list(result.scenarios) == ["tabsyn_black_box"]
    assert result.ranking_score == official_tpr(*pooled["tabsyn_black_box", "dev"])


@needs_data
def test_a_present_type_must_be_complete_and_the_missing_models_are_named() -> None:
    """Two models of tabsyn's dev split missing: refused, naming them in the mapping's order."""
    d = definition(BLACK_SINGLE)
    data, _ = submission(BLACK_SINGLE, drop=("tabsyn_93", "tabsyn_55"))
    with pytest.raises(InvalidInput) as caught:
        read_submission(data, definition=d)
    assert [str(p) for p in caught.value.problems] == [
        "tabsyn_black_box/dev/: 2 of 20 models missing: tabsyn_55, tabsyn_93"
    ]


@needs_data
def test_a_track_folder_on_top_is_placed_as_an_enclosing_folder() -> None:
    """`midst_blackbox_single_table/` above the type folders is unambiguous (every file shares
    it, as when a folder is zipped whole): read as if absent, same score."""
    d = definition(BLACK_SINGLE)
    plain, _ = submission(BLACK_SINGLE)
    topped, _ = submission(BLACK_SINGLE, prefix="midst_blackbox_single_table/")
    labels = truth(BLACK_SINGLE)
    scores = [
        score_split(read_submission(z, definition=d), labels, d, "final").to_dict()
        for z in (plain, topped)
    ]
    assert scores[0] == scores[1]


@needs_data
def test_mico_folder_names_are_refused_naming_the_faults() -> None:
    """`model_51` folders are no MIDST models (ignored, with a warning each) so every model
    is missing; MICO's own zip names scenarios MIDST does not have."""
    d = definition(BLACK_SINGLE)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for split, first in (("dev", 51), ("final", 61)):
            for i in range(first, first + 20):
                path = f"midst_blackbox_single_table/tabddpm_black_box/{split}/model_{i}"
                zf.writestr(f"{path}/prediction.csv", "0.5\n" * 200)
    with pytest.raises(InvalidInput) as caught:
        read_submission(buffer.getvalue(), definition=d)
    problems = [str(p) for p in caught.value.problems]
    assert problems[0].startswith(
        "midst_blackbox_single_table/tabddpm_black_box/dev/: split missing (20 models: "
        "tabddpm_51 to tabddpm_100)"
    )
    assert any("model_51 is not a model of the dev split" in str(w) for w in caught.value.warnings)

    from app.scoring.demo import submission_zip

    with pytest.raises(InvalidInput) as caught:
        read_submission(submission_zip(MICO.track("sst2"), "weak"), definition=d)
    assert "'sst2_hi' is not a model type of midst-blackbox-single" in str(caught.value)


@needs_data
@pytest.mark.parametrize("slug", sorted(TRACKS))
def test_the_shipped_model_lists_are_the_released_mappings(slug: str) -> None:
    """Each definition lists, per type and split, the mapping's models in its order, and the
    released tree holds labels for exactly those (200 each, both classes)."""
    d = definition(slug)
    _, generators, _ = TRACKS[slug]
    for generator in generators:
        model_type = f"{generator}_{TRACKS[slug][2]}"
        for split, key in (("train", "shadow"), ("dev", "dev"), ("final", "final")):
            key = "shadow" if split == "train" else f"{key}_{TRACKS[slug][2]}"
            assert list(d.models(model_type, split)) == mapping(slug, generator)[key]
    labels = truth(slug).labels
    assert {k: v.size for k, v in labels.items()} == {
        (f"{g}_{TRACKS[slug][2]}", s): 20 * 200 for g in generators for s in ("dev", "final")
    }


@needs_data
def test_the_command_prints_midst_s_scores_json() -> None:
    """`mia-arena score --definition ... --format codabench` prints `{"tpr_at_fpr": ...}`."""
    data, pooled = submission(BLACK_SINGLE)
    zip_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"midst-{os.getpid()}.zip"
    zip_path.write_bytes(data)
    try:
        args = ["score", "--definition", DEFINITIONS / f"{BLACK_SINGLE}.yaml"]
        args += ["--truth", data_folder(BLACK_SINGLE), zip_path]
        result = subprocess.run(
            [CLI, *map(str, [*args, "--format", "codabench"])],
            capture_output=True,
            text=True,
            timeout=120,
        )
        table = subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=120)
    finally:
        zip_path.unlink()
    assert result.returncode == 0, result.stderr
    expected = max(official_tpr(*pooled[t, "dev"]) for t, s in pooled if s == "dev")
    assert json.loads(result.stdout) == {"tpr_at_fpr": pytest.approx(expected, abs=1e-12)}
    assert "ranking score (max TPR@0.1FPR over model types)" in table.stdout


def test_labels_with_the_is_train_header_load_from_a_zip(tmp_path: Path) -> None:
    """A truth zip in MIDST's layout: the header line is skipped, the values read."""
    d = definition(BLACK_SINGLE)
    path = tmp_path / "truth.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for model_type in ("tabddpm_black_box", "tabsyn_black_box"):
            for split in ("dev", "final"):
                for model in d.models(model_type, split):
                    text = "is_train\r\n" + "1\r\n0\r\n" * 100
                    zf.writestr(f"data/{model_type}/{split}/{model}/challenge_label.csv", text)
    labels = read_truth(path, definition=d).labels
    assert labels["tabsyn_black_box", "final"][:4].tolist() == [1, 0, 1, 0]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (
            lambda d: d["tracks"][0]["model_types"][1].update(optional="yes"),
            "tracks[0].model_types[1].optional: expected true or false",
        ),
        (
            lambda d: d["tracks"][0].update(ranking="median"),
            "tracks[0].ranking: expected mean or max or min or mean_rank",
        ),
        (
            lambda d: d["splits"][1]["models"].pop("tabsyn_black_box"),
            "splits[1].models: no models for tabsyn_black_box",
        ),
        (
            lambda d: d["splits"][1]["models"].update(tabsyn=["x"]),
            "splits[1].models.tabsyn: 'tabsyn' is neither a track nor a scenario",
        ),
        (
            lambda d: d["files"].update(predictions="{split}/{type}/{model}/p.csv"),
            "files.predictions: expected a template like",
        ),
        (
            lambda d: d["metrics"].update(comparison="<<"),
            "metrics.comparison: expected < or <=",
        ),
        (
            lambda d: d["metrics"].update(ranking_threshold=0.05),
            "metrics.ranking_threshold: expected one of fpr_thresholds",
        ),
        (
            lambda d: d["phases"][0].update(per_day=0),
            "phases[0].per_day: expected a whole number of at least 1",
        ),
        (
            lambda d: d["phases"][1].update(carries=["test_set"]),
            "phases[1].carries[0]: 'test_set' is not a split",
        ),
        (lambda d: d.update(colour="blue"), "colour: unknown field"),
    ],
)
def test_a_wrong_field_is_named(change: object, error: str) -> None:
    """Each fault names its field, as an organizer would find it in the file."""
    import yaml

    data = yaml.safe_load((DEFINITIONS / f"{BLACK_SINGLE}.yaml").read_text())
    change(data)  # type: ignore[operator]
    with pytest.raises(DefinitionError) as caught:
        Definition.from_dict(data)
    assert str(caught.value).startswith(error)


def test_version_1_files_and_mico_keep_working(tmp_path: Path) -> None:
    """A version 1 JSON file reads as before; MICO is unchanged by a round trip through v2."""
    path = tmp_path / "mini.json"
    path.write_text(
        json.dumps(
            {
                "slug": "mini",
                "tracks": [{"name": "t", "scenarios": ["b", "a"]}],
                "splits": [{"name": "dev", "first": 0, "last": 9}],
                "required_splits": ["dev"],
                "points_per_model": 10,
                "fpr_thresholds": [0.1],
                "ranking_threshold": 0.1,
                "solution_file": "labels.csv",
            }
        )
    )
    mini = Definition.load(path)
    assert mini.track("t").scenarios == ("a", "b") and mini.solution_file == "labels.csv"
    assert mini.split("dev").describe() == "model_0 to model_9"
    again = Definition.from_dict(MICO.to_dict())
    assert again.to_dict() == MICO.to_dict()
    assert [again.split(s).models("cifar10_hi") for s in again.split_names] == [
        MICO.split(s).models("cifar10_hi") for s in MICO.split_names
    ]
    assert again.split("test").name == "final"


@pytest.mark.parametrize("slug", sorted(TRACKS))
def test_the_shipped_definitions_round_trip_and_carry_midst_s_phases(slug: str) -> None:
    """to_dict (public: no labels) reads back to the same definition; phases as MIDST ran them."""
    d = definition(slug)
    assert Definition.from_dict(d.to_dict()) == d
    dev, final = d.phase("development"), d.phase("Final")
    assert (dev.carries, dev.shown, dev.per_day, dev.total) == (("dev", "final"), ("dev",), 10, 50)
    assert (final.total, final.policy) == (1, "latest")


def test_mean_rank_ranks_every_scenario_then_averages() -> None:
    """Ranks per scenario (1 = best, a missing scenario last), then their mean."""
    assert mean_ranks([{"a": 0.9, "b": 0.1}, {"a": 0.1, "b": 0.9}]) == [1.5, 1.5]
    rows = [{"a": 0.9, "b": 0.1}, {"a": 0.1, "b": 0.9}, {"a": 0.5}]
    assert mean_ranks(rows) == [1.5, 2.0, 2.5]


def test_the_command_names_the_wrong_field_of_a_definition(tmp_path: Path) -> None:
    """`--definition` with a fault: a usage error naming the file and the field, nothing read."""
    text = (DEFINITIONS / f"{BLACK_SINGLE}.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        text.replace("{name: tabsyn_black_box, optional: true}", "{name: x, optional: 1}")
    )
    zip_path = tmp_path / "empty.zip"
    zip_path.write_bytes(submission_zip_of_nothing())
    result = subprocess.run(
        [CLI, "validate", "--definition", str(bad), str(zip_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "bad.yaml: not a valid definition" in result.stderr
    assert "tracks[0].model_types[1].optional: expected true or false" in result.stderr


def submission_zip_of_nothing() -> bytes:
    """A zip with one README: never read, the definition is refused first."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("README.md", "nothing")
    return buffer.getvalue()
