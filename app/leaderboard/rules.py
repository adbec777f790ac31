"""What a track's leaderboard shows and how it ranks, read from its competition's definition:
the metrics of each scenario (`shown_metrics`, or every one), the page's columns, and the
ranking rule in words (the track's aggregate, its threshold, `model type` where the
definition says so)."""

from __future__ import annotations

from dataclasses import dataclass

from app.competitions.service import definition_of
from app.models.competition import Competition
from app.models.track import Track
from app.scoring.definition import Aggregate
from app.scoring.definition import Track as DefinedTrack
from app.scoring.scorer import metric_headings, metric_keys, ranking_words

PAGE_CELLS = 8  # metric cells a page's row shows at most; beyond, the ranking metric and AUC
TITLES = {
    "AUC": "area under the ROC curve",
    "MIA": "membership inference advantage: the largest TPR - FPR",
    "accuracy": "balanced accuracy: the largest 1 - (FPR + FNR) / 2",
}


@dataclass(frozen=True)
class Column:
    """A metric shown for each scenario on the page: its key, heading and longer title."""

    key: str
    heading: str
    title: str


@dataclass(frozen=True)
class Rules:
    """What a track's leaderboard shows and how it ranks, as the competition's definition
    says: the metrics (`shown_metrics`, or every one), the ranking aggregate and its words."""

    metrics: tuple[str, ...]  # each scenario's metrics in the JSON and the CSV, in order
    columns: tuple[Column, ...]  # each scenario's metrics on the page
    ranking: Aggregate
    ranking_key: str
    words: str  # e.g. `mean TPR at 10% FPR`
    scenario_word: str  # `scenario`, or MIDST's `model type`
    optional: bool  # some scenario may be left out of a submission

    @property
    def by_mean_rank(self) -> bool:
        """Rows are ordered by their mean rank over the scenarios, computed among them."""
        return self.ranking == "mean_rank"

    @property
    def sentence(self) -> str:
        """How rows are ranked, as the page says it."""
        over = f"over the track's {self.scenario_word}s"
        if self.by_mean_rank:
            metric = self.words.removeprefix("mean rank by ")
            text = (
                f"Ranked by each row's mean rank {over}, ranked on {metric} (1 = best) among "
                "the rows of this leaderboard; the score is that mean rank, lower is better"
            )
        else:
            text = f"Ranked by the {self.words} {over}"
        if self.optional:
            text += f" (a {self.scenario_word} left out of a submission is skipped)"
        return text


def rules_of(competition: Competition, track: Track) -> Rules:
    """The leaderboard rules of a track, from its competition's definition."""
    definition = definition_of(competition)
    spec = next(
        (t for t in definition.tracks if t.name == track.name), DefinedTrack(track.name, ())
    )
    metrics = metric_keys(definition)
    headings = dict(metric_headings(definition))
    ranking_key = definition.ranking_key
    shown = (ranking_key, *(k for k in metrics if k != ranking_key))
    if len(shown) * max(1, len(spec.scenarios)) > PAGE_CELLS:
        shown = (ranking_key, "AUC")
    threshold = f"{definition.ranking_threshold * 100:g}%"
    titles = {ranking_key: f"true positive rate at {threshold} false positive rate", **TITLES}
    return Rules(
        metrics=metrics,
        columns=tuple(
            Column(k, headings.get(k, k), titles.get(k, headings.get(k, k))) for k in shown
        ),
        ranking=spec.ranking,
        ranking_key=ranking_key,
        words=ranking_words(spec, definition),
        scenario_word=definition.scenario_word,
        optional=bool(spec.optional),
    )
