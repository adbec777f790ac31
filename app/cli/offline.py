"""The commands that need no server: validate and score prediction zips, make demo data."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn, TypeVar

import click

from app.scoring.archive import read_zip_file
from app.scoring.definition import MICO, Definition
from app.scoring.demo import write_demo_data
from app.scoring.problems import InvalidInput, headed
from app.scoring.readers import Predictions, read_submission, read_truth, submission_limits
from app.scoring.scorer import (
    ScoringError,
    SplitScore,
    codabench_scores,
    codalab_lines,
    score_split,
)

T = TypeVar("T")

DEFINITION = click.option(
    "--definition",
    "definition_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Competition definition as JSON or YAML (default: the built-in MICO definition).",
)


def load_definition(path: Path | None) -> Definition:
    """The competition definition to use: a JSON file, or MICO."""
    if path is None:
        return MICO
    try:
        return Definition.load(path)
    except (KeyError, ValueError, TypeError) as exc:
        raise click.BadParameter(f"{path}: not a valid definition ({exc})") from exc


def fail(title: str, exc: InvalidInput) -> NoReturn:
    """Print every problem under a title and exit with status 1."""
    n = len(exc.problems)
    click.echo(f"{title}: {n} problem{'s' if n != 1 else ''}", err=True)
    for problem in exc.problems:
        click.echo(f"  {problem}", err=True)
    for text in headed("warnings", exc.warnings):
        click.echo(text, err=True)
    sys.exit(1)


def checked(lookup: Callable[[str], T], name: str, option: str) -> T:
    """A track or split of the definition by name, or a usage error naming the known ones."""
    try:
        return lookup(name)
    except KeyError as exc:
        raise click.BadParameter(str(exc.args[0]), param_hint=option) from None


def _read(
    zip_path: Path, definition: Definition, track: str | None, splits: tuple[str, ...] | None = None
) -> Predictions:
    """Read and validate a submission zip, or exit 1 with its problems."""
    if track is not None:
        checked(definition.track, track, "--track")
    limits = submission_limits(definition)
    try:
        return read_submission(
            read_zip_file(zip_path, limits),  # refused by its size before it is read
            definition=definition,
            track=track,
            name=zip_path.name,
            limits=limits,
            splits=splits,
        )
    except InvalidInput as exc:
        fail(f"{zip_path} is not a valid submission", exc)


@click.command()
@click.argument(
    "zip_path",
    metavar="PREDICTIONS.zip",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@click.option("--track", help="The track the zip is for (read from the zip when left out).")
@DEFINITION
@click.option(
    "--server",
    metavar="URL",
    help="Validate with this server's definition of --competition (no token needed).",
)
@click.option(
    "--competition", default="mico", show_default=True, help="The competition, with --server."
)
def validate(
    zip_path: Path,
    track: str | None,
    definition_path: Path | None,
    server: str | None,
    competition: str,
) -> None:
    """Check a prediction zip as the server will: exit 0 when valid, 1 with every problem."""
    if server is not None and definition_path is not None:
        raise click.UsageError("give --server or --definition, not both")
    if server is None:
        definition = load_definition(definition_path)
    else:
        definition = _served_definition(server, competition)
    predictions = _read(zip_path, definition, track)
    click.echo(
        f"{zip_path}: valid {predictions.track} submission, {predictions.files} "
        f"prediction files, splits {', '.join(predictions.splits)}"
    )
    for text in headed("warnings", predictions.warnings):  # still valid: exit 0
        click.echo(text)


def _served_definition(server: str, competition: str) -> Definition:
    """The definition `server` publishes for `competition`; exit 1 (refused) or 2 (not
    reached) with the reason otherwise."""
    from app.client.api import Api, ClientError

    try:
        with Api(server.rstrip("/"), None) as api:
            data = api.definition(competition)
        return Definition.from_dict(data)
    except ClientError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(exc.status)
    except ValueError as exc:  # DefinitionError: a server this client cannot follow
        click.echo(f"error: {server} sent a definition this client cannot read ({exc})", err=True)
        sys.exit(1)


@click.command()
@click.argument(
    "zip_path",
    metavar="PREDICTIONS.zip",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@click.option(
    "--truth",
    "truth_path",
    required=True,
    type=click.Path(exists=True, path_type=Path),
    help="Ground truth: a folder or zip of solution.csv files in the official layout.",
)
@click.option(
    "--split",
    default="dev",
    show_default=True,
    help="Split to score: dev, final (or test) or train.",
)
@click.option("--track", help="The track the zip is for (read from the zip when left out).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "codalab", "codabench"]),
    default="table",
    show_default=True,
    help="table for people, json for programs, codalab: the official scores.txt lines, "
    "codabench: the official scores.json (MIDST).",
)
@DEFINITION
def score(
    zip_path: Path,
    truth_path: Path,
    split: str,
    track: str | None,
    fmt: str,
    definition_path: Path | None,
) -> None:
    """Score a prediction zip against ground truth, as the official MICO program does."""
    definition = load_definition(definition_path)
    if fmt == "codalab" and not definition.codalab:  # MICO's keys only where they fit
        message = f"{definition.slug} has no codalab keys; use --format codabench or json"
        raise click.BadParameter(message, param_hint="--format")
    split = checked(definition.split, split, "--split").name
    # Scoring one split needs that split only: a participant may score a train-only zip.
    predictions = _read(zip_path, definition, track, (split,))
    try:
        truth = read_truth(truth_path, definition=definition)
    except InvalidInput as exc:
        fail(f"{truth_path} is not valid ground truth", exc)
    try:
        result = score_split(predictions, truth, definition, split)
    except ScoringError as exc:
        click.echo(f"cannot score {zip_path} on {split}: {exc}", err=True)
        sys.exit(1)
    if fmt == "codalab":
        click.echo("\n".join(codalab_lines(result, definition)))
    elif fmt == "codabench":
        click.echo(json.dumps(codabench_scores(result, definition)))
    elif fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        click.echo(_table(result, definition))


def _table(result: SplitScore, definition: Definition) -> str:
    """Metrics per scenario as an aligned text table."""
    keys = [*definition.tpr_keys, "AUC", "MIA", "accuracy"]
    heads = [f"TPR@{t:g}" for t in definition.fpr_thresholds] + keys[-3:]
    title = f"{result.track}, {result.split} split"
    width = max(len(title), *(len(s) for s in result.scenarios)) + 2
    lines = [title.ljust(width) + "".join(h.rjust(10) for h in heads)]
    for name, s in result.scenarios.items():
        lines.append(name.ljust(width) + "".join(f"{s.metrics[k]:10.4f}" for k in keys))
    ranking = f"TPR@{definition.ranking_threshold:g}FPR"
    how, word = definition.track(result.track).ranking, definition.scenario_word
    lines.append(f"ranking score ({how} {ranking} over {word}s): {result.ranking_score:.4f}")
    return "\n".join(lines)


@click.command("demo-data")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--track", "tracks", multiple=True, help="Only this track (repeatable).")
@click.option("--seed", default=0, show_default=True, help="Random seed: same seed, same bytes.")
@DEFINITION
def demo_data(out: Path, tracks: tuple[str, ...], seed: int, definition_path: Path | None) -> None:
    """Write synthetic ground truth (OUT/truth) and submissions (OUT/submissions/*.zip)."""
    definition = load_definition(definition_path)
    for track in tracks:
        checked(definition.track, track, "--track")
    zips = write_demo_data(out, tracks or None, seed=seed, definition=definition)
    click.echo(f"ground truth: {out / 'truth'}")
    for path in zips:
        click.echo(f"submission:   {path}")
