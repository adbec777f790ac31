"""Importing CodaLab and Codabench bundles: MICO's and MIDST's as they were published, mapped
to the shipped definitions; anything else, or anything hostile, refused with its file named.

The bundles are built in tests/fixtures/bundles.py, their competition.yaml written as MICO's
`codalab-package` and MIDST's `codabench_bundles` hold them; the variants here edit that yaml.
"""

# The yaml variants below keep the real files' long lines.
# ruff: noqa: E501

from __future__ import annotations

import io
import stat
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from app.competitions.bundles import (
    BundleColumn,
    BundlePage,
    BundleRefused,
    read_bundle,
    read_bundle_file,
    reference_zip,
)
from app.core.errors import Invalid
from app.models.phase import LeaderboardPolicy
from app.scoring.archive import Limits
from app.scoring.readers import read_track_truth
from tests.fixtures.bundles import (
    MICO_PAGES,
    MICO_YAML,
    MIDST_YAML,
    mico_files,
    midst_files,
    zip_files,
)


def _refused(data: bytes, name: str = "bundle.zip", **kwargs: Limits) -> list[str]:
    """The problems a refused bundle is reported with, each `file: fault`."""
    with pytest.raises(BundleRefused) as caught:
        read_bundle(data, name, **kwargs)
    assert caught.value.errors == [str(p) for p in caught.value.problems]
    assert f"{name} cannot be imported; nothing was stored" in caught.value.message
    return caught.value.errors or []


def _utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# --- MICO's CodaLab bundle -------------------------------------------------------------------


def test_mico_codalab_bundle_reads_every_field() -> None:
    """The cifar10 bundle as MICO published it: every field, in the order CodaLab showed it."""
    bundle = read_bundle(zip_files(mico_files()), "bundle-cifar10.zip")
    assert (bundle.source, bundle.format) == ("bundle-cifar10.zip", "codalab")
    assert bundle.title == "MICO - CIFAR-10"
    assert bundle.description == "The Microsoft Membership Inference Competition (MICO)."
    assert bundle.image == "logo.png"
    assert (bundle.requires_approval, bundle.allow_teams) == (True, True)
    assert bundle.pages == (
        BundlePage("overview", "Overview", "overview.html", "html", MICO_PAGES["overview.html"]),
        BundlePage("data", "Data", "data.html", "html", MICO_PAGES["data.html"]),
        BundlePage(
            "evaluation", "Evaluation", "evaluation.html", "html", MICO_PAGES["evaluation.html"]
        ),
        BundlePage("terms", "Terms", "terms.html", "html", MICO_PAGES["terms.html"]),
    )
    assert bundle.page("terms") == bundle.pages[3] and bundle.page("faq") is None

    development, final = bundle.phases
    assert development.name == "Development"
    assert development.description.startswith("Development phase: submit membership inference")
    assert development.description.endswith("The live scoreboard shows scores on `dev` only.")
    assert (development.start, development.end) == (_utc(2022, 11, 1), _utc(2023, 1, 13, 12))
    assert (development.max_per_day, development.max_total) == (30, 1000)
    assert development.max_bytes == 2 * 1024 * 1024
    assert development.split == "dev"
    assert development.scored_splits == ("dev", "final") and development.shown_splits == ("dev",)
    assert development.accepts_uploads is True
    assert development.policy is LeaderboardPolicy.LATEST
    assert development.reference_data == "reference_data_dev.zip"
    assert development.scoring_program == "scoring_program.zip"

    assert final.name == "Final" and final.description.startswith("Final phase: submissions")
    assert (final.start, final.end) == (_utc(2023, 1, 13, 12), None)  # end_date: null
    assert (final.max_per_day, final.max_total, final.max_bytes) == (30, 1000, 2 * 1024 * 1024)
    assert (final.split, final.scored_splits, final.shown_splits) == ("final", ("final",), ())
    assert final.accepts_uploads is False  # MICO's Final scored the latest Development upload
    assert final.policy is LeaderboardPolicy.LATEST
    assert final.reference_data == "reference_data_final.zip"

    assert bundle.columns == (
        BundleColumn(
            "average_TPR_FPR_1000",
            "Average TPR@0.1FPR across the three scenarios",
            "Ranking (average TPR@0.1FPR)",
            "desc",
            4,
        ),
        BundleColumn("scenario2_TPR_FPR_1000", "TPR@0.1FPR", "No DP", "desc", 4),
        BundleColumn("scenario1_TPR_FPR_1000", "TPR@0.1FPR", "High ε", "desc", 4),
        BundleColumn("scenario1_TPR_FPR_10", "TPR@0.001FPR", "High ε", "desc", 4),
        BundleColumn("scenario1_AUC", "AUC", "High ε", "desc", 4),
    )
    assert (bundle.definition, bundle.definition_file, bundle.tracks) == (
        "mico",
        None,
        ("cifar10",),
    )
    assert bundle.mapping_note == (
        "maps to MICO's built-in definition: 4 tracks (cifar10, purchase100, sst2, ddp), 3 "
        "scenarios each, models split train/dev/final, ranked by the mean TPR at 10% FPR; this "
        "bundle is track cifar10 (title 'MICO - CIFAR-10')"
    )
    warnings = [str(w) for w in bundle.warnings]
    assert warnings == [
        "competition.yaml: phase 1 ('Development'): force_best_submission_to_leaderboard is not "
        "applied: the latest submission counts, as MICO ran it; set the phase's policy to best "
        "after the import to rank each participant's best",
        "competition.yaml: phase 2 ('Final'): force_best_submission_to_leaderboard is not "
        "applied: the latest submission counts, as MICO ran it; set the phase's policy to best "
        "after the import to rank each participant's best",
        "competition.yaml: scoring program scoring_program.zip is not run: mia-arena scores the "
        "definition's metrics itself, the same numbers as the official program",
    ]


@pytest.mark.parametrize(
    ("title", "tracks"),
    [
        ("MICO - CIFAR-10", ("cifar10",)),
        ("MICO - Purchase-100", ("purchase100",)),
        ("MICO - SST-2", ("sst2",)),
        ("MICO - DP Distinguisher", ("ddp",)),
        ("MICO", ()),  # the template itself: every track
    ],
)
def test_each_mico_bundle_maps_to_its_track(title: str, tracks: tuple[str, ...]) -> None:
    """MICO shipped one bundle per track; the DDP one relabels its tables by modality."""
    text = MICO_YAML.replace("title: MICO - CIFAR-10", f"title: {title}")
    if title.endswith("Distinguisher"):
        text = text.replace("label: High ε", "label: CIFAR-10").replace(
            "label: No DP", "label: SST-2"
        )
    bundle = read_bundle(zip_files(mico_files(text)))
    assert (bundle.definition, bundle.tracks) == ("mico", tracks)
    assert bundle.mapping_note.startswith("maps to MICO's built-in definition: 4 tracks")
    if not tracks:
        assert bundle.mapping_note.endswith(
            "the title 'MICO' names no single track, so it stands for all of them"
        )


def test_a_bundle_zipped_with_its_folder_is_read_inside_it() -> None:
    """`zip -r bundle.zip mico/`: the one enclosing folder is unambiguous, so it is accepted."""
    bundle = read_bundle(zip_files(mico_files(), folder="codalab-package/"))
    assert bundle.title == "MICO - CIFAR-10" and len(bundle.pages) == 4
    assert bundle.pages[0].source == "overview.html"


# --- MIDST's Codabench bundles ---------------------------------------------------------------


def test_midst_codabench_bundle_reads_every_field() -> None:
    """MIDST's black-box single-table bundle: pages, MM-DD-YYYY dates, Force_Last, tasks."""
    bundle = read_bundle(zip_files(midst_files()), "midst_blackbox_single_table.zip")
    assert (bundle.source, bundle.format) == ("midst_blackbox_single_table.zip", "codabench")
    assert bundle.title == "MIDST - Black Box Single Table Competition"
    assert bundle.description == (
        "Black Box Membership Inference over Diffusion-models-based Synthetic Tabular data on "
        "single table dataset"
    )
    assert bundle.image == "midst-logo.png"
    assert (bundle.requires_approval, bundle.allow_teams) == (False, None)
    assert bundle.pages == (
        BundlePage(
            "overview",
            "Overview",
            "pages/overview.md",
            "markdown",
            "# MIDST\n\nMembership inference over **synthetic** tables.\n",
        ),
        BundlePage(
            "terms",
            "Terms",
            "pages/terms.md",
            "markdown",
            "# Terms\n\nBy joining you accept the rules.\n",  # the BOM is not part of the text
        ),
    )
    dev, final = bundle.phases
    assert dev.name == "Black Box Dev Phase"
    assert dev.description.startswith("Dev phase for black box MIA on TabDDPm and TabSyn")
    assert (dev.start, dev.end) == (_utc(2024, 11, 1), _utc(2025, 2, 20))
    assert (dev.max_per_day, dev.max_total, dev.max_bytes) == (10, 50, None)
    assert (dev.split, dev.scored_splits, dev.shown_splits) == ("dev", ("dev", "final"), ("dev",))
    assert dev.accepts_uploads is True and dev.policy is LeaderboardPolicy.LATEST
    assert (dev.reference_data, dev.scoring_program) == (
        "data/",
        "scoring_programs/dev_scoring_program",
    )
    assert final.name == "Black Box Final Phase"  # the trailing space of the yaml is gone
    assert (final.start, final.end) == (_utc(2025, 2, 21), None)
    assert (final.max_per_day, final.max_total) == (1, 1)
    assert (final.split, final.scored_splits, final.shown_splits) == ("final", ("final",), ())
    assert final.accepts_uploads is True  # MIDST's Final took its one upload
    assert final.policy is LeaderboardPolicy.LATEST
    assert final.scoring_program == "scoring_programs/final_scoring_program"
    assert bundle.columns == (BundleColumn("tpr_at_fpr", "TPR at FPR", "Results", "desc", 2),)
    assert bundle.definition == "midst-blackbox-single"
    assert bundle.definition_file == "definitions/midst-blackbox-single.yaml"
    assert bundle.tracks == ()
    assert bundle.mapping_note == (
        "maps to definitions/midst-blackbox-single.yaml: MIDST black box, single table (model "
        "types tabddpm_black_box, tabsyn_black_box), recognised by its title 'MIDST - Black Box "
        "Single Table Competition'"
    )
    assert [str(w) for w in bundle.warnings] == [
        "competition.yaml: scoring program scoring_programs/dev_scoring_program, "
        "scoring_programs/final_scoring_program is not run: mia-arena scores the definition's "
        "metrics itself, the same numbers as the official program"
    ]


@pytest.mark.parametrize(
    ("title", "family", "definition", "types"),
    [
        ("MIDST - Black Box Single Table Competition", "TabDDPM", "midst-blackbox-single", "tabddpm_black_box, tabsyn_black_box"),
        ("MIDST - White Box Single Table Competition", "TabDDPM", "midst-whitebox-single", "tabddpm_white_box, tabsyn_white_box"),
        ("MIDST - Black Box Multi Table", "ClavaDDPM", "midst-blackbox-multi", "clavaddpm_black_box"),
        ("MIDST - White Box Multi Table Competition", "ClavaDDPM", "midst-whitebox-multi", "clavaddpm_white_box"),
    ],
)  # fmt: skip
def test_each_midst_bundle_maps_to_its_definition_file(
    title: str, family: str, definition: str, types: str
) -> None:
    """The four MIDST competitions, each to its own definition file, by title."""
    box = "White" if "White" in title else "Black"
    text = (
        MIDST_YAML.replace("MIDST - Black Box Single Table Competition", title)
        .replace("Black Box", f"{box} Box")
        .replace("Black box", f"{box} box")
        .replace("TabDDPM and TabSyn", family)
    )
    bundle = read_bundle(zip_files(midst_files(text)))
    assert (bundle.definition, bundle.definition_file) == (
        definition,
        f"definitions/{definition}.yaml",
    )
    assert f"(model types {types}), recognised by its title '{title}'" in bundle.mapping_note


def test_a_midst_title_without_its_track_maps_by_the_description() -> None:
    """The title is trusted first; the description (then phases and tasks) tells the rest."""
    text = MIDST_YAML.replace("title: MIDST - Black Box Single Table Competition", "title: MIDST")
    bundle = read_bundle(zip_files(midst_files(text)))
    assert bundle.definition == "midst-blackbox-single"
    assert bundle.mapping_note.endswith(
        "(model types tabddpm_black_box, tabsyn_black_box), recognised by its description"
    )


def test_midst_multi_table_bundle_with_its_mislabelled_task_and_eval_phase() -> None:
    """MIDST's black-box multi-table yaml names a "White box" task and an Eval phase: the
    title decides the track, and the phase of no known split is imported with a warning."""
    text = (
        MIDST_YAML.replace("MIDST - Black Box Single Table Competition", "MIDST - Black Box Multi Table")
        .replace("TabDDPM and TabSyn models", "ClavaDDPM")
        .replace("single table", "multi table")
        .replace("name: Black box MIA on tabular diffusion models for final set",
                 "name: White box MIA on tabular diffusion models for eval set")
        .replace("Black Box Final Phase", "Black Box Eval Phase")
        .replace("start: 02-21-2025 00:00:00", "start: 12-18-2024")
        .replace("end: 02-20-2025 00:00:00", "end: 12-17-2024")
    )  # fmt: skip
    bundle = read_bundle(zip_files(midst_files(text)))
    assert bundle.definition == "midst-blackbox-multi"
    dev, evaluation = bundle.phases
    assert (dev.split, dev.end) == ("dev", _utc(2024, 12, 17))
    assert (evaluation.name, evaluation.start) == ("Black Box Eval Phase", _utc(2024, 12, 18))
    assert (evaluation.split, evaluation.scored_splits, evaluation.shown_splits) == (None, (), ())
    assert (
        "competition.yaml: phase 'Black Box Eval Phase' names neither dev nor final (in its "
        "name, tasks or reference data); set which splits it scores and shows after the import"
    ) in [str(w) for w in bundle.warnings]


def test_codabench_force_best_ranks_the_best_and_add_warns() -> None:
    """Codabench's submission rules: Force_Best is `best`; Add leaves the choice to people."""
    best = read_bundle(zip_files(midst_files(MIDST_YAML.replace('"Force_Last"', "Force_Best"))))
    assert {p.policy for p in best.phases} == {LeaderboardPolicy.BEST}
    added = read_bundle(zip_files(midst_files(MIDST_YAML.replace('"Force_Last"', "Add"))))
    assert {p.policy for p in added.phases} == {LeaderboardPolicy.LATEST}
    assert any("allow pinning" in w.message for w in added.warnings)


def test_a_missing_logo_and_data_kept_on_the_server_are_warnings() -> None:
    """Neither is needed to run the competition here: the import says what is left out."""
    files = midst_files()
    del files["midst-logo.png"]
    files = {k: v for k, v in files.items() if not k.startswith("data/")}
    bundle = read_bundle(zip_files(files))
    assert bundle.image is None
    warnings = [str(w) for w in bundle.warnings]
    assert (
        "competition.yaml: image midst-logo.png is not in the bundle; the competition has no logo"
        in warnings
    )
    assert (
        "competition.yaml: task 0: reference_data data/ is not in the bundle (a dataset kept on "
        "the server?); nothing of it is imported"
    ) in warnings


def test_reference_data_comes_out_as_the_zip_the_truth_reader_takes() -> None:
    """MICO's inner zips as they are (read_track_truth reads them); MIDST's folder zipped."""
    data = zip_files(mico_files())
    development, final = read_bundle(data, "bundle-cifar10.zip").phases
    for phase, split in ((development, "dev"), (final, "final")):
        assert phase.reference_data
        part = reference_zip(data, "bundle-cifar10.zip", phase.reference_data)
        truth = read_track_truth(part, track="cifar10", splits=(split,))
        assert truth.tracks == ("cifar10",)
        assert sorted(truth.labels) == [(f"cifar10_{s}", split) for s in ("hi", "inf", "lo")]
        assert all(labels.size == 50 * 200 for labels in truth.labels.values())
    data = zip_files(midst_files(), folder="midst_blackbox_single_table/")
    part = reference_zip(data, "midst.zip", "data/")
    assert sorted(zipfile.ZipFile(io.BytesIO(part)).namelist()) == [
        "tabddpm_black_box/dev/tabddpm_51/challenge_label.csv",
        "tabddpm_mapping_final.json",
        "tabsyn_black_box/final/tabsyn_103/challenge_label.csv",
    ]
    with pytest.raises(BundleRefused) as caught:
        reference_zip(data, "midst.zip", "reference_data/")
    assert caught.value.errors == [
        "midst_blackbox_single_table/reference_data/: is not in the bundle (a dataset kept on the "
        "server?); upload it instead"
    ]
    with pytest.raises(BundleRefused) as caught:
        reference_zip(zip_files(mico_files()), "mico.zip", "reference_data_dev.zip", max_bytes=1000)
    assert caught.value.errors and caught.value.errors[0].startswith("reference_data_dev.zip: is ")
    assert caught.value.errors[0].endswith("bytes inflated, over the 1,000 allowed")


# --- bundles that cannot be mapped -----------------------------------------------------------


def test_a_competition_mia_arena_does_not_know_is_refused_with_what_to_do() -> None:
    """No definition to map to: the organizer is told which names were read and what to write."""
    text = (
        MIDST_YAML.replace("MIDST - Black Box Single Table Competition", "Iris classification")
        .replace("description: Black Box Membership Inference over Diffusion-models-based "
                 "Synthetic Tabular data on single table dataset", "description: Classify irises")
        .replace("name: Black box MIA on tabular diffusion models for dev set", "name: Foo")
        .replace("name: Black box MIA on tabular diffusion models for final set", "name: Bar")
        .replace("TabDDPM and TabSyn", "random forests")
        .replace("TabDDPm and TabSyn", "random forests")
    )  # fmt: skip
    assert _refused(zip_files(midst_files(text))) == [
        "competition.yaml: names title 'Iris classification', tasks 'Foo', 'Bar'; mia-arena maps "
        "only MICO (tracks cifar10, purchase100, sst2, ddp) and MIDST (black box or white box, "
        'single or multi table); write a definition file instead (README: "Another competition")'
    ]


def test_a_midst_bundle_that_does_not_say_its_track_is_refused() -> None:
    """MIDST ran four competitions; a bundle naming neither box is not guessed."""
    text = (
        MIDST_YAML.replace("MIDST - Black Box Single Table Competition", "MIDST")
        .replace("Black Box ", "")
        .replace("Black box ", "")
        .replace("black box ", "")
    )
    (problem,) = _refused(zip_files(midst_files(text)))
    assert problem.startswith("competition.yaml: looks like MIDST (title 'MIDST', tasks ")
    assert "does not say which track: black or white box;" in problem
    assert "name it in the title, e.g. 'MIDST - Black Box Single Table'" in problem


def test_a_bundle_naming_both_mico_and_midst_is_refused() -> None:
    text = MICO_YAML.replace("title: MICO - CIFAR-10", "title: MICO and MIDST together")
    (problem,) = _refused(zip_files(mico_files(text)))
    assert problem.startswith("competition.yaml: names both MICO and MIDST")


# --- faults of competition.yaml ------------------------------------------------------------


def test_a_page_competition_yaml_names_must_be_in_the_bundle() -> None:
    files = mico_files()
    del files["terms.html"]
    files["terms_and_conditions.html"] = "<p>terms</p>"
    assert _refused(zip_files(files)) == [
        "competition.yaml: html.terms: names terms.html, which is not in the bundle (did you mean "
        "terms_and_conditions.html?)"
    ]
    files = midst_files()
    del files["pages/overview.md"]
    assert _refused(zip_files(files)) == [
        "competition.yaml: page 'Overview': names pages/overview.md, which is not in the bundle; "
        "its top holds: competition.yaml, data, midst-logo.png, pages, scoring_programs"
    ]


@pytest.mark.parametrize(
    ("source", "fault"),
    [
        ("../../etc/passwd", "names '../../etc/passwd', a path outside the bundle; name a file in it"),
        ("/etc/passwd", "names '/etc/passwd', a path outside the bundle; name a file in it"),
        ("logo.png", "names logo.png, which is neither Markdown (.md) nor HTML (.html)"),
        ("[a, b]", "must name a page file, not a list"),
    ],
)  # fmt: skip
def test_a_page_path_out_of_the_bundle_or_not_a_page_is_refused(source: str, fault: str) -> None:
    text = MICO_YAML.replace("terms: terms.html", f"terms: {source}")
    assert _refused(zip_files(mico_files(text))) == [f"competition.yaml: html.terms: {fault}"]


def test_a_page_that_is_not_utf8_is_refused() -> None:
    files = mico_files()
    files["data.html"] = "<p>Données</p>".encode("latin-1")
    assert _refused(zip_files(files)) == ["data.html: is not UTF-8 text (byte 7); save it as UTF-8"]


@pytest.mark.parametrize(
    ("start", "fault"),
    [
        ("31-12-2024", "start '31-12-2024' is not a date (month must be in 1..12); dates read MM-DD-YYYY"),
        ("02-30-2025", "start '02-30-2025' is not a date (day is out of range for month); dates read MM-DD-YYYY"),
        ("next monday", "start 'next monday' is not a date; write YYYY-MM-DD or YYYY-MM-DD HH:MM:SS"),
        ("0024-11-01", "start is in the year 24; write a four-digit year"),
        ("[2024, 11, 1]", "start is a list, not a date; write YYYY-MM-DD or YYYY-MM-DD HH:MM"),
    ],
)  # fmt: skip
def test_a_bad_date_is_refused_naming_the_phase(start: str, fault: str) -> None:
    text = MIDST_YAML.replace("start: 11-01-2024 00:00:00", f"start: {start}")
    assert _refused(zip_files(midst_files(text))) == [
        f"competition.yaml: phase 'Black Box Dev Phase': {fault}"
    ]


def test_phases_out_of_order_are_refused() -> None:
    text = MIDST_YAML.replace("end: 02-20-2025 00:00:00", "end: 10-20-2024 00:00:00")
    assert _refused(zip_files(midst_files(text))) == [
        "competition.yaml: phase 'Black Box Dev Phase': ends 2024-10-20 00:00, not after its "
        "start 2024-11-01 00:00"
    ]
    text = MICO_YAML.replace("start_date:  2023-01-13 12:00:00+00:00", "start_date: 2022-10-01")
    assert _refused(zip_files(mico_files(text))) == [
        "competition.yaml: phase 'Development': starts 2022-11-01 00:00, but phase 'Final' starts "
        "2022-10-01 00:00; phases run one after another"
    ]


def test_every_fault_is_reported_at_once() -> None:
    """Limits, a missing name, an unknown task and rule: all of them in one answer."""
    text = (
        MIDST_YAML.replace("max_submissions_per_day: 10", "max_submissions_per_day: thirty")
        .replace("max_submissions: 1\n", "max_submissions: 0\n")
        .replace("  - name: Black Box Final Phase \n", "  - label: Final\n")
        .replace("      - 1\n", "      - 7\n")
        .replace('"Force_Last"', "Force_First")
        .replace("precision: 2", "precision: many")
    )
    assert _refused(zip_files(midst_files(text))) == [
        "competition.yaml: leaderboard 'Results': submission_rule is 'Force_First'; Codabench's "
        "rules are Force_Last, Force_Latest_Multiple, Force_Best, Add, Add_And_Delete, "
        "Add_And_Delete_Multiple",
        "competition.yaml: leaderboard 'Results': column 'tpr_at_fpr': the number of decimals is "
        "'many'; write 0 to 10",
        "competition.yaml: phase 'Black Box Dev Phase': max_submissions_per_day is 'thirty'; write "
        "a whole number of at least 1, or leave it out",
        "competition.yaml: phases[1]: name is missing",
        "competition.yaml: phases[1]: names task 7, which tasks: does not define (defined: 0, 1)",
        "competition.yaml: phases[1]: max_submissions is 0; write a whole number of at least 1, or "
        "leave it out",
    ]


def test_a_missing_title_no_phases_and_an_unknown_version_are_refused() -> None:
    text = MIDST_YAML.replace("title: MIDST - Black Box Single Table Competition\n", "")
    assert "competition.yaml: title is missing" in _refused(zip_files(midst_files(text)))
    text = MICO_YAML.replace("\nphases:\n", "\nphases_of_old:\n")
    assert _refused(zip_files(mico_files(text))) == [
        "competition.yaml: phases: none defined; a competition has at least one phase"
    ]
    text = MIDST_YAML.replace("version: 2", "version: 3")
    assert _refused(zip_files(midst_files(text))) == [
        "competition.yaml: version is 3; CodaLab bundles have no version and Codabench's are "
        "version: 2"
    ]


# --- hostile or broken bundles ---------------------------------------------------------------


def test_a_bundle_without_competition_yaml_is_refused() -> None:
    files = mico_files()
    del files["competition.yaml"]
    assert _refused(zip_files(files), "mico.zip") == [
        "mico.zip: holds no competition.yaml; a CodaLab or Codabench bundle has competition.yaml "
        "at its top, next to its pages"
    ]
    two = zip_files(mico_files(), folder="a/") + b""
    nested = zip_files(
        {**{f"a/{k}": v for k, v in mico_files().items()}, "b/competition.yaml": "x"}
    )
    assert two and _refused(nested, "mico.zip") == [
        "mico.zip: has competition.yaml only inside folders (a/competition.yaml, "
        "b/competition.yaml); zip one bundle's own files, with competition.yaml at the top"
    ]


@pytest.mark.parametrize("evil", ["../../.bashrc", "/etc/cron.d/job", "C:/Windows/evil.bat"])
def test_a_path_out_of_the_archive_refuses_the_whole_bundle(evil: str) -> None:
    data = zip_files({**mico_files(), evil: "rm -rf ~"})
    assert _refused(data) == [
        f"{evil}: has an absolute or '..' path; paths must stay inside the archive"
    ]


def test_a_zip_bomb_is_refused_before_it_is_inflated() -> None:
    """competition.yaml that would inflate to 64 MB: refused by its declared size."""
    bomb = mico_files("#" * (64 * 1024 * 1024))
    data = zip_files(bomb)
    assert len(data) < 1024 * 1024
    assert _refused(data) == [
        "competition.yaml: is 67,108,864 bytes inflated, over the 262,144 allowed (a zip bomb?)"
    ]
    many = zip_files({**mico_files(), "public_data/big.bin": bytes(3 * 1024 * 1024)})
    small = Limits(max_zip_bytes=1024 * 1024, max_total_bytes=2 * 1024 * 1024)
    (problem,) = _refused(many, limits=small)
    assert problem.startswith("bundle.zip: would inflate to 3.")
    assert problem.endswith(" MB, over the limit of 2.0 MB (a zip bomb?)")


def test_a_huge_competition_yaml_is_refused() -> None:
    padding = "".join(f"# {i:08d} padding line of a competition.yaml\n" for i in range(8_000))
    size = len((MICO_YAML + padding).encode())
    assert size > 256 * 1024
    assert _refused(zip_files(mico_files(MICO_YAML + padding))) == [
        f"competition.yaml: is {size:,} bytes inflated, over the 262,144 allowed (a zip bomb?)"
    ]


def test_a_yaml_tag_that_builds_objects_is_refused_and_never_run(tmp_path: Path) -> None:
    """safe_load builds no object: the tag is named, nothing runs, the file is not created."""
    marker = tmp_path / "pwned"
    text = MICO_YAML.replace(
        "title: MICO - CIFAR-10",
        f"title: !!python/object/apply:os.system ['touch {marker}']",
    )
    line = text[: text.index("!!python")].count("\n") + 1
    (problem,) = _refused(zip_files(mico_files(text)))
    assert problem.startswith(
        f"competition.yaml: line {line}: uses the YAML tag !!python/object/apply:os.system, "
        "which builds program objects"
    )
    assert problem.endswith("a competition.yaml holds plain values only: remove the tag")
    assert not marker.exists()


def test_an_alias_bomb_is_refused_quickly() -> None:
    """A billion laughs: safe_load shares the aliases; no field takes it for text."""
    lol = ['lol0: &l0 "lol"'] + [
        f"lol{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 10)
    ]
    text = "\n".join(lol) + "\n" + MICO_YAML.replace("title: MICO - CIFAR-10", "title: *l9").replace(
        "description: The Microsoft", "description: *l9\ndescriptio: The"
    )  # fmt: skip
    problems = _refused(zip_files(mico_files(text)))  # safe_load shares aliases: nothing expands
    assert problems == [
        "competition.yaml: title must be text, not a list",
        "competition.yaml: description must be text, not a list",
    ]


def test_broken_yaml_is_refused_with_its_line() -> None:
    text = MICO_YAML.replace("  overview: overview.html", "  overview: [overview.html")
    (problem,) = _refused(zip_files(mico_files(text)))
    assert problem.startswith("competition.yaml: line ")
    assert "is not valid YAML" in problem and problem.endswith("check its indentation and quotes")
    assert _refused(zip_files(mico_files("- title: MICO\n"))) == [
        "competition.yaml: must hold key: value lines (title:, phases:, ...) at its top"
    ]
    deep = "title: MICO\nphases: " + "[" * 20_000 + "]" * 20_000
    assert _refused(zip_files(mico_files(deep))) == [
        "competition.yaml: nests too deeply to be a competition definition"
    ]


def test_a_linked_competition_yaml_is_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, content in mico_files().items():
            if name != "competition.yaml":
                zf.writestr(name, content)
        link = zipfile.ZipInfo("competition.yaml")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
    assert _refused(out.getvalue()) == [
        "competition.yaml: is a symbolic link; zip the file itself (zip -r follows links by "
        "default)"
    ]


def test_what_is_no_zip_is_refused() -> None:
    assert _refused(b"", "mico.zip") == ["mico.zip: is an empty file; expected a .zip archive"]
    assert _refused(b"title: MICO\n", "competition.yaml") == [
        "competition.yaml: is not a zip archive; make a .zip of the csv files"
    ]


def test_refused_is_an_invalid_request_and_a_file_too_big_is_never_read(tmp_path: Path) -> None:
    """BundleRefused is the project's 422 Invalid; on disk the size refuses before reading."""
    assert issubclass(BundleRefused, Invalid) and BundleRefused.status_code == 422
    path = tmp_path / "bundle-cifar10.zip"
    path.write_bytes(zip_files(mico_files()))
    size = path.stat().st_size / 1024
    assert read_bundle_file(path).tracks == ("cifar10",)
    with pytest.raises(BundleRefused) as caught:
        read_bundle_file(path, limits=Limits(max_zip_bytes=1024))
    assert caught.value.errors and caught.value.errors[0].startswith(
        f"bundle-cifar10.zip: is {size:.1f} KB, over the limit of 1.0 KB"
    )


def _paths(value: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Every place in parsed yaml: each key of each mapping, each item of each list."""
    children = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    out = []
    for key, child in children:
        out.append((*prefix, key))
        out.extend(_paths(child, (*prefix, key)))
    return out


_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=True)
    | st.text(max_size=30)
    | st.dates()
    | st.datetimes(),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@pytest.mark.parametrize("base", [MICO_YAML, MIDST_YAML], ids=["codalab", "codabench"])
@settings(max_examples=100, deadline=None, derandomize=True)
@given(data=st.data())
def test_any_value_anywhere_is_read_or_refused_never_a_crash(
    base: str, data: st.DataObject
) -> None:
    """Whatever an organizer writes in any field, the answer is a bundle or a refusal."""
    content = yaml.safe_load(base)
    path = data.draw(st.sampled_from(_paths(content)))
    *parents, last = path
    target = content
    for key in parents:
        target = target[key]
    target[last] = data.draw(_VALUES)
    text = yaml.safe_dump(content, allow_unicode=True)
    files = mico_files(text) if base is MICO_YAML else midst_files(text)
    try:
        bundle = read_bundle(zip_files(files))
    except BundleRefused as exc:
        assert exc.problems and all(p.path and p.message for p in exc.problems)
    else:
        assert bundle.definition in ("mico", "midst-blackbox-single")
