"""A competition from a CodaLab or Codabench bundle, on PostgreSQL and SQLite: MICO's CodaLab
bundle (labels from the demo truth) and MIDST's Codabench bundle (its released labels) become
competitions with the bundle's pages, phases, limits and columns, run as participants see
them; a bundle's script never reaches a page; refusals say why and store nothing."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray
from sklearn.metrics import roc_curve
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth import service as auth
from app.competitions import registrations
from app.competitions.bundle_import import create_from_bundle, html_to_markdown, plan_bundle
from app.competitions.bundles import BundleRefused
from app.competitions.service import definition_of
from app.core.errors import Conflict
from app.core.markdown import render_markdown
from app.models.audit import AuditEntry
from app.models.base import utcnow
from app.models.competition import Competition
from app.models.ground_truth import GroundTruth
from app.models.phase import LeaderboardPolicy, Phase
from app.models.user import Role
from tests.fixtures.arena import Arena
from tests.fixtures.browser import PASSWORD
from tests.fixtures.bundles import MICO_YAML, MIDST_YAML, mico_files, midst_files, zip_files
from tests.fixtures.midst import BLACK_SINGLE, TRACKS, data_folder, needs_data, submission
from tests.fixtures.midst import truth_zip as midst_truth_zip

CLI = str(Path(sys.executable).with_name("mia-arena"))
MIB = 1024 * 1024
MIDST_TRACK = TRACKS[BLACK_SINGLE][0]
SCRIPTED = (
    "<h1>Overview</h1>\n<p>Welcome to <b>MICO</b>, see <a href='https://example.org/mico'>the "
    "paper</a>.</p>\n<script>alert('from the bundle')</script>\n"
    "<img src=x onerror=\"alert('img')\">\n<a href=\"javascript:alert('link')\">no link</a>\n"
    "<ul><li>first</li><li>second</li></ul>"
)


def _utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def _demo_truth(demo: Path, split: str) -> bytes:
    """reference_data_{split}.zip of the demo truth's cifar10, as MICO's script zipped it."""
    root = demo / "truth"
    files: dict[str, bytes | str] = {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted((root / "cifar10").glob(f"*/{split}/*/solution.csv"))
    }
    return zip_files(files)


def _mico_bundle(demo: Path, *, reference: bool = True, **pages: str) -> bytes:
    """MICO's cifar10 CodaLab bundle with the demo truth as reference data (or none)."""
    files = mico_files(MICO_YAML)
    for split in ("dev", "final"):
        if reference:
            files[f"reference_data_{split}.zip"] = _demo_truth(demo, split)
        else:
            del files[f"reference_data_{split}.zip"]
    files.update({f"{role}.html": text for role, text in pages.items()})
    return zip_files(files)


def _midst_bundle(*, reference: bool = True) -> bytes:
    """MIDST's black-box single-table Codabench bundle, its Development phase running now,
    with the released labels as its `data/` folder (or without them)."""
    today = datetime.now(UTC).date()
    day = lambda d: (today + timedelta(days=d)).strftime("%m-%d-%Y")  # noqa: E731
    text = (
        MIDST_YAML.replace("start: 11-01-2024 00:00:00", f"start: {day(-1)}")
        .replace("end: 02-20-2025 00:00:00", f"end: {day(30)}")
        .replace("start: 02-21-2025 00:00:00", f"start: {day(31)}")
    )
    files = {k: v for k, v in midst_files(text).items() if not k.startswith("data/")}
    if reference:
        folder = data_folder(BLACK_SINGLE)
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                files["data/" + path.relative_to(folder).as_posix()] = path.read_bytes()
    return zip_files(files)


def _count(session: Session, model: type[object]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def _phases(session: Session, competition: Competition) -> dict[str, Phase]:
    rows = session.scalars(select(Phase).filter_by(competition_id=competition.id))
    return {p.name: p for p in rows}


def _official(labels: NDArray[np.int64], predictions: NDArray[np.float64]) -> float:
    """MIDST's formula: the largest TPR among ROC points with FPR < 0.1."""
    fpr, tpr, _ = roc_curve(labels, predictions)
    return float(max(tpr[fpr < 0.1]))


# --- MICO's CodaLab bundle -------------------------------------------------------------------


def test_mico_bundle_becomes_its_track_with_the_bundles_phases_pages_and_columns(
    arena: Arena,
) -> None:
    """The cifar10 bundle beside the demo's MICO: MICO's cifar10 track and scenarios, the
    labels of both reference zips, the phases' dates and limits as the yaml says, HTML pages
    shown on the competition's page, and the leaderboard columns as the metrics shown."""
    plan = plan_bundle(arena.session, _mico_bundle(arena.demo), "bundle-cifar10.zip")
    assert plan.mapping_note.startswith("maps to MICO's built-in definition: 4 tracks")
    assert (plan.preview.slug, plan.preview.title) == ("mico-cifar10", "MICO - CIFAR-10")
    assert any("every phase taking uploads ended before today" in str(w) for w in plan.warnings)
    competition = create_from_bundle(arena.session, plan, utcnow())
    arena.session.commit()

    spec = definition_of(competition)
    assert [(t.name, t.scenarios, t.ranking) for t in spec.tracks] == [
        ("cifar10", ("cifar10_hi", "cifar10_inf", "cifar10_lo"), "mean")
    ]
    assert spec.shown_metrics == ("TPR_FPR_1000", "TPR_FPR_10", "AUC")  # the bundle's columns
    phases = _phases(arena.session, competition)
    development, final = phases["Development"], phases["Final"]
    assert (development.starts_at, development.ends_at) == (
        _utc(2022, 11, 1),
        _utc(2023, 1, 13, 12),
    )
    assert (development.max_per_day, development.max_total, development.max_bytes) == (
        30,
        1000,
        2 * MIB,
    )
    assert development.accepts_uploads and development.scored_splits == ["dev", "final"]
    assert development.shown_splits == ["dev"]
    assert (final.starts_at, final.ends_at) == (_utc(2023, 1, 13, 12), None)
    assert not final.accepts_uploads and final.scored_splits == ["final"]
    assert final.shown_splits == []  # hidden until the organizers reveal it
    assert development.leaderboard_policy is LeaderboardPolicy.LATEST
    assert competition.requires_approval  # has_registration: true

    page = arena.browser.get("/competitions/mico-cifar10")
    assert page.status_code == 200
    assert "The Microsoft Membership Inference Competition (MICO)." in page.text
    assert "Welcome to MICO." in page.text
    data = arena.browser.get("/competitions/mico-cifar10/data")
    assert "Each scenario has 200 models." in data.text

    (entry,) = arena.session.scalars(
        select(AuditEntry).where(AuditEntry.competition_id == competition.id)
    ).all()
    assert entry.action == "competition.import-bundle"
    assert entry.detail["source"] == "bundle-cifar10.zip"
    assert entry.detail["mapping"] == plan.mapping_note
    assert entry.detail["tracks"] == ["cifar10"]


def test_the_bundle_labels_of_dev_and_final_are_both_stored(session: Session, demo: Path) -> None:
    """MICO's bundle keeps dev and final in two zips: the competition holds both."""
    plan = plan_bundle(session, _mico_bundle(demo), "bundle-cifar10.zip")
    create_from_bundle(session, plan, utcnow())
    rows = session.scalars(select(GroundTruth)).all()
    assert sorted((r.split, r.models) for r in rows) == [("dev", 50)] * 3 + [("final", 50)] * 3


def test_a_pages_script_never_reaches_the_competitions_page(arena: Arena) -> None:
    """An HTML page with a script, an onerror and a javascript: link: text, headings, lists
    and the https link are shown; nothing of the script is."""
    data = _mico_bundle(arena.demo, overview=SCRIPTED, terms="<p>Rules.<script>x()</script>")
    plan = plan_bundle(arena.session, data, "bundle.zip", slug="scripted")
    assert "alert" not in plan.pages["overview"] and "x()" not in plan.pages["terms"]
    create_from_bundle(arena.session, plan, utcnow())
    arena.session.commit()
    page = arena.browser.get("/competitions/scripted").text
    assert "Welcome to <strong>MICO</strong>" in page
    assert '<a href="https://example.org/mico"' in page and ">the paper</a>" in page
    assert "<li>first</li>" in page and "no link" in page
    for hostile in ("alert(", "onerror", "javascript:", "from the bundle"):
        assert hostile not in page


def test_a_markdown_pages_raw_html_is_shown_as_text_never_run() -> None:
    """MIDST's pages are Markdown: raw HTML in them is escaped by the page renderer."""
    shown = str(render_markdown("# Terms\n\n<script>alert(1)</script>\n"))
    assert "<script>" not in shown and "&lt;script&gt;" in shown
    assert (
        html_to_markdown("<p>a_b *c* <code>x_y</code></p><pre>x = 1</pre>")
        == "a\\_b \\*c\\* `x_y`\n\n```\nx = 1\n```\n"
    )


# --- MIDST's Codabench bundle ----------------------------------------------------------------


@needs_data
def test_midst_bundle_runs_as_midst_and_scores_by_its_formula(arena: Arena) -> None:
    """The black-box single-table bundle with its released data/: MIDST's definition (max over
    optional model types), its limits, its one column; an upload of one model type is scored
    by MIDST's formula and ranked."""
    plan = plan_bundle(arena.session, _midst_bundle(), "midst_blackbox_single_table.zip")
    assert plan.mapping_note.startswith("maps to definitions/midst-blackbox-single.yaml")
    competition = create_from_bundle(arena.session, plan, utcnow())
    slug = competition.slug
    assert (slug, competition.title) == (BLACK_SINGLE, "MIDST - Black Box Single Table Competition")
    assert not competition.requires_approval  # registration_auto_approve: True
    assert competition.overview_md.startswith("Black Box Membership Inference over")
    assert "Membership inference over **synthetic** tables." in competition.overview_md
    assert competition.terms_md.startswith("# Terms")
    spec = definition_of(competition)
    assert spec.track(MIDST_TRACK).ranking == "max"
    assert spec.track(MIDST_TRACK).optional == {"tabddpm_black_box", "tabsyn_black_box"}
    assert spec.shown_metrics == ("TPR_FPR_1000",)  # tpr_at_fpr, MIDST's one column
    phases = _phases(arena.session, competition)
    dev, final = phases["Black Box Dev Phase"], phases["Black Box Final Phase"]
    assert (dev.max_per_day, dev.max_total, final.max_per_day, final.max_total) == (10, 50, 1, 1)
    assert final.accepts_uploads and final.shown_splits == []

    user = auth.create_user(arena.session, "tabby@example.org", PASSWORD, role=Role.PARTICIPANT)
    registrations.register(arena.session, competition, user, accept_terms=True)
    headers = {"Authorization": f"Bearer {auth.create_token(arena.session, user)[1]}"}
    arena.session.commit()
    data, pooled = submission(BLACK_SINGLE, types=("tabsyn_black_box",))
    answer = arena.browser.post(
        f"/api/v1/competitions/{slug}/tracks/{MIDST_TRACK}/submissions",
        headers=headers,
        files={"file": ("predictions.zip", data, "application/zip")},
    )
    assert answer.status_code == 202, answer.text
    assert arena.score_sent() == ["scored"]
    board = arena.browser.get(
        f"/api/v1/competitions/{slug}/tracks/{MIDST_TRACK}/leaderboard", headers=headers
    ).json()
    (entry,) = board["entries"]
    assert entry["ranking_score"] == _official(*pooled["tabsyn_black_box", "dev"])


@needs_data
def test_a_bundle_without_its_data_takes_the_truth_zip(session: Session) -> None:
    """MIDST's bundle without data/: refused saying to give the truth; with it, planned."""
    data = _midst_bundle(reference=False)
    with pytest.raises(BundleRefused) as caught:
        plan_bundle(session, data, "midst.zip")
    assert (
        "midst.zip: holds no reference data for its phases (data/ is not in it); give the "
        "ground truth as a zip (--truth ZIP" in caught.value.message
    )
    plan = plan_bundle(session, data, "midst.zip", truth=(midst_truth_zip(BLACK_SINGLE), "d.zip"))
    assert [t.name for t in plan.preview.tracks] == [MIDST_TRACK]
    assert _count(session, Competition) == 0


# --- refusals --------------------------------------------------------------------------------


def test_refusals_say_why_and_store_nothing(arena: Arena) -> None:
    """A bundle of an unknown competition, one without reference data and no truth, and a
    slug taken: each refused with its reason; nothing stored."""
    before = (_count(arena.session, Competition), _count(arena.session, GroundTruth))
    unknown = (
        MIDST_YAML.replace("MIDST - Black Box Single Table Competition", "Iris classification")
        .replace(
            "description: Black Box Membership Inference over Diffusion-models-based "
            "Synthetic Tabular data on single table dataset",
            "description: Classify irises",
        )
        .replace("TabDDPM and TabSyn", "forests")
        .replace("TabDDPm and TabSyn", "forests")
    )
    with pytest.raises(BundleRefused, match="iris.zip cannot be imported; nothing was stored"):
        try:
            plan_bundle(arena.session, zip_files(midst_files(unknown)), "iris.zip")
        except BundleRefused as exc:
            assert "mia-arena maps only MICO" in exc.message
            assert "write a definition file instead" in exc.message
            raise
    without = _mico_bundle(arena.demo, reference=False)
    with pytest.raises(BundleRefused, match=r"give the ground truth as a zip \(--truth ZIP"):
        plan_bundle(arena.session, without, "bundle-cifar10.zip")
    twice = zip_files(mico_files(MICO_YAML.replace("label: Final", "label: Development")))
    with pytest.raises(BundleRefused, match="two phases are called 'Development'"):
        plan_bundle(arena.session, twice, "bundle.zip")
    with pytest.raises(Conflict, match="'mico' exists already"):
        plan_bundle(arena.session, _mico_bundle(arena.demo), "bundle.zip", slug="mico")
    assert (_count(arena.session, Competition), _count(arena.session, GroundTruth)) == before


def test_a_truth_zip_without_the_bundles_track_is_refused(session: Session, demo: Path) -> None:
    """The cifar10 bundle given ddp's labels: the track it is is named."""
    root = demo / "truth"
    ddp = zip_files(
        {p.relative_to(root).as_posix(): p.read_bytes() for p in (root / "ddp").rglob("*.csv")}
    )
    bundle = _mico_bundle(demo, reference=False)
    with pytest.raises(Exception, match="ddp.zip holds no labels of track cifar10"):
        plan_bundle(session, bundle, "bundle-cifar10.zip", truth=(ddp, "ddp.zip"))


# --- the command -----------------------------------------------------------------------------


def test_the_command_previews_imports_and_refuses(
    new_postgres_database: Callable[[], str], tmp_path: Path, demo: Path
) -> None:
    """`import-bundle --preview` says the mapping, the warnings and what would be made, and
    stores nothing; then the competition is made; a second run, an unknown bundle and one
    without labels exit 1 naming the file; --truth supplies the labels."""
    env = {**os.environ, "DATABASE_URL": new_postgres_database()}

    def run(*args: object) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [CLI, *map(str, args)], env=env, capture_output=True, text=True, timeout=120
        )

    assert run("db", "upgrade").returncode == 0
    bundle = tmp_path / "bundle-cifar10.zip"
    bundle.write_bytes(_mico_bundle(demo))
    looked = run("competitions", "import-bundle", bundle, "--preview")
    assert looked.returncode == 0, looked.stderr
    out = looked.stdout
    assert out.startswith("maps to MICO's built-in definition")
    assert "warning: competition.yaml: scoring program scoring_program.zip is not run" in out
    assert "mico-cifar10: MICO - CIFAR-10 (definition mico)" in out
    assert "cifar10_hi: dev 50 models" in out
    assert "leaderboard shows: TPR_FPR_1000, TPR_FPR_10, AUC" in out
    assert (
        "phase Development: from 2022-11-01 00:00 UTC to 2023-01-13 12:00 UTC, uploads (30 a "
        "day, 1000 in all), scores dev/final, shows dev" in out
    )
    assert out.strip().endswith("preview only: nothing stored")
    made = run("competitions", "import-bundle", bundle)
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip().endswith("created competition mico-cifar10 (MICO - CIFAR-10)")
    again = run("competitions", "import-bundle", bundle)
    assert again.returncode == 1 and "'mico-cifar10' exists already" in again.stderr

    other = tmp_path / "other.zip"
    other.write_bytes(zip_files({"competition.yaml": "title: Iris\nphases:\n  1: {label: A}\n"}))
    refused = run("competitions", "import-bundle", other)
    assert refused.returncode == 1
    assert "other.zip cannot be imported; nothing was stored" in refused.stderr
    assert "mia-arena maps only MICO" in refused.stderr

    bare = tmp_path / "bare.zip"
    bare.write_bytes(_mico_bundle(demo, reference=False))
    unlabelled = run("competitions", "import-bundle", bare, "--slug", "bare")
    assert unlabelled.returncode == 1 and "--truth ZIP" in unlabelled.stderr
    truth = tmp_path / "truth.zip"
    with (
        zipfile.ZipFile(io.BytesIO(_demo_truth(demo, "dev"))) as dev,
        zipfile.ZipFile(io.BytesIO(_demo_truth(demo, "final"))) as final,
    ):
        truth.write_bytes(zip_files({n: z.read(n) for z in (dev, final) for n in z.namelist()}))
    given = run("competitions", "import-bundle", bare, "--slug", "bare", "--truth", truth)
    assert given.returncode == 0, given.stderr
    assert "created competition bare" in given.stdout


def test_a_column_of_no_metric_is_said_and_left_out(session: Session, demo: Path) -> None:
    """A column the definition has no metric for: a warning; the others are shown."""
    text = MICO_YAML.replace("scenario1_AUC:", "scenario1_MEMBERS:")
    files = mico_files(text)
    files.update({f"reference_data_{s}.zip": _demo_truth(demo, s) for s in ("dev", "final")})
    plan = plan_bundle(session, zip_files(files), "bundle.zip")
    assert (
        "bundle.zip: leaderboard column scenario1_MEMBERS ('AUC') maps to no metric of mico; "
        "it is not shown" in [str(w) for w in plan.warnings]
    )
    assert plan.definition.shown_metrics == ("TPR_FPR_1000", "TPR_FPR_10")
