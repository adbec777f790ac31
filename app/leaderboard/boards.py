"""A leaderboard in every form it is served in (JSON, the page's rows page by page, the ROC
overlays), made together from the process's cache in a session of its own, so that no reader
pays for any of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from markupsafe import Markup
from sqlalchemy.orm import Session

from app.core.charts import Curve, roc_svg
from app.core.db import SessionFactory, committing
from app.core.templating import templates
from app.leaderboard import rules as board_rules
from app.leaderboard import service
from app.models.competition import Competition
from app.models.track import Track

PAGE_ROWS = 100  # rows on each page of the table; the API and the CSV have every row
RANK_INTERVALS_EVERY = 30.0  # seconds: rank intervals worked out again at most this often


@dataclass(frozen=True)
class Board:
    """A leaderboard in every form it is served in, made together in one go (the page's rows
    page by page, as readers ask for them)."""

    signature: Any  # service.signature when it was made
    entries: list[service.Entry]
    json: bytes
    charts: dict[str, Any]  # the page's ROC overlays; none under the Ladder
    csv_url: str
    split: str
    intervals: bool  # a column for them (never under the Ladder, nor for mean ranks)
    rules: board_rules.Rules  # the columns and the ranking rule, from the definition
    rendered: dict[int, Markup] = field(default_factory=dict)  # pages shown to every reader
    ranks_reused: bool = False  # its rank intervals are those of an earlier board

    @property
    def last_page(self) -> int:
        """The number of the last page (1 for an empty board)."""
        return max(1, -(-len(self.entries) // PAGE_ROWS))

    def page_of(self, submission_id: int) -> int:
        """The page that holds a row."""
        rank = next(e.rank for e in self.entries if e.submission_id == submission_id)
        return (rank - 1) // PAGE_ROWS + 1

    def rows(self, page: int, own: set[int]) -> Markup:
        """The table of one page, the viewer's `own` rows marked; the same for every reader
        who has none (made once per cache period), made for each reader who has some."""
        if own:
            return _rows_html(self, page, own)
        if page not in self.rendered:
            self.rendered[page] = _rows_html(self, page, set())
        return self.rendered[page]


def board_of(
    factory: SessionFactory,
    cache: service.StandingsCache,
    competition: Competition,
    track: Track,
    split: str,
    exact: bool,
) -> Board:
    """The leaderboard from the process's `cache`: made again in the background (hence in a
    session of its own, from `factory`), all its forms at once, so that no reader pays for
    any of them."""
    competition_id, track_id = competition.id, track.id
    ranks_key = ("rank intervals", track_id, split)
    csv_url = (
        f"/api/v1/competitions/{competition.slug}/tracks/{track.name}/leaderboard"
        f"?split={split}&format=csv"
    )

    def now(session: Session) -> Any:
        ranked = session.get_one(Track, track_id)
        return service.signature(
            session, session.get_one(Competition, competition_id), ranked, split
        )

    def current(board: Board) -> bool:
        if board.ranks_reused and cache.peek(ranks_key, within=RANK_INTERVALS_EVERY) is None:
            return False  # its rank intervals are due to be worked out again
        with committing(factory()) as own:
            return bool(now(own) == board.signature)

    def make() -> Board:
        with committing(factory()) as own:
            signature = now(own)  # before reading: a change meanwhile shows as one next time
            ranked = own.get_one(Track, track_id)
            held = own.get_one(Competition, competition_id)
            rules = board_rules.rules_of(held, ranked)
            entries = service.standings(own, held, ranked, split, exact=exact, rules=rules)
            entries = service.with_reveal(own, ranked, split, entries)
            reused = False
            if exact and not rules.by_mean_rank:  # as the score intervals
                entries, reused = _with_rank_intervals(own, cache, ranks_key, split, entries)
            # Curves would give exact scores away: none under the Ladder.
            charts = _overlays(service.top_rocs(own, entries, split)) if exact else {}
        return Board(
            signature=signature,
            entries=entries,
            json=orjson.dumps({"split": split, "entries": entries}),  # dataclasses, natively
            charts=charts,
            csv_url=csv_url,
            split=split,
            intervals=exact and not rules.by_mean_rank,
            rules=rules,
            ranks_reused=reused,
        )

    return cache.get(("board", track.id, split, exact), make, current)


def _with_rank_intervals(
    session: Session,
    cache: service.StandingsCache,
    key: Any,
    split: str,
    entries: list[service.Entry],
) -> tuple[list[service.Entry], bool]:
    """The rows with their rank intervals, worked out afresh at most every RANK_INTERVALS_EVERY
    seconds in a process (180-290 ms for 2,000 rows of 1,000 replicates, most of what a
    board costs; while scores stream in, a board is made again every few seconds); in between,
    those of the last time, for the rows that had one then (and True: reused). A row new since
    shows none until the next time, as a row whose replicates are still being computed does."""
    kept = cache.peek(key, within=RANK_INTERVALS_EVERY) if cache.seconds > 0 else None
    if kept is None:
        entries = service.with_rank_intervals(session, split, entries)
        cache.put(
            key,
            {e.submission_id: (e.rank_low, e.rank_high, e.group) for e in entries if e.group},
        )
        return entries, False
    for entry in entries:  # made for this board alone: filled in where they are
        if found := kept.get(entry.submission_id):
            entry.rank_low, entry.rank_high, entry.group = found
    return entries, True


def _rows_html(board: Board, page: int, own: set[int]) -> Markup:
    """The table of one page of the board, with the pages to go to, and where the viewer's
    first `own` row stands."""
    entries = board.entries
    scenarios = sorted({n for e in entries for n in e.scenarios})
    template = templates.get_template("leaderboard/_rows.html")
    first = (page - 1) * PAGE_ROWS
    mine = next((e for e in entries if e.submission_id in own), None)
    return Markup(
        template.render(
            entries=entries[first : first + PAGE_ROWS],
            first=first,
            scenarios=scenarios,
            total=len(entries),
            split=board.split,
            page=page,
            pages=_page_numbers(page, board.last_page),
            last_page=board.last_page,
            csv_url=board.csv_url,
            intervals=board.intervals,
            columns=board.rules.columns,
            mean_rank=board.rules.by_mean_rank,
            tied=service.tied_with_leader(entries) if board.intervals else set(),
            own=own,
            mine=mine,
            mine_page=board.page_of(mine.submission_id) if mine else None,
        )
    )


def _page_numbers(page: int, last: int) -> list[int | None]:
    """The page numbers to offer: the first, the last, and two either side of this one;
    None where a run of pages is left out."""
    shown = sorted({1, last, *range(max(1, page - 2), min(last, page + 2) + 1)})
    numbers: list[int | None] = []
    for number in shown:
        if numbers and number - (numbers[-1] or 0) > 1:
            numbers.append(None)
        numbers.append(number)
    return numbers


def _overlays(rocs: dict[str, list[tuple[str, dict[str, list[float]]]]]) -> dict[str, Any]:
    """Per scenario, the top five's ROC curves as SVG, linear and log-log."""
    charts = {}
    for scenario, leaders in rocs.items():
        curves = [Curve(who, roc["fpr"], roc["tpr"]) for who, roc in leaders]
        title = f"{scenario}: top {len(curves)}"
        charts[scenario] = [
            Markup(roc_svg(curves, scale="linear", title=f"{title}, linear")),
            Markup(roc_svg(curves, scale="loglog", title=f"{title}, log-log")),
        ]
    return charts
