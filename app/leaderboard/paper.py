"""A track's analysis as a results paper takes it: each scenario's ranking metric per
participant (CSV, long form), the final leaderboard as CSV and as a LaTeX table (booktabs),
and the chart of the scenarios' spreads as SVG or PNG."""

from __future__ import annotations

from collections.abc import Iterator

from app.core.charts_stats import Figure, scenario_chart
from app.core.downloads import spreadsheet_safe
from app.leaderboard.service import Entry
from app.leaderboard.statistics import Analysis

# One pass over the text: a backslash's replacement is not escaped again.
_LATEX = str.maketrans(
    {
        "\\": r"\textbackslash{}",
        "&": r"\&",
        "%": r"\%",
        "$": r"\$",
        "#": r"\#",
        "_": r"\_",
        "{": r"\{",
        "}": r"\}",
        "~": r"\textasciitilde{}",
        "^": r"\textasciicircum{}",
    }
)


def latex_escape(text: str) -> str:
    """Text that LaTeX prints as it reads (a participant's name cannot run a command)."""
    return " ".join(text.split()).translate(_LATEX)


def heading(analysis: Analysis) -> str:
    """The ranking metric's heading, as the leaderboard's column has it (`TPR@10%`)."""
    return next(
        (c.heading for c in analysis.rules.columns if c.key == analysis.rules.ranking_key),
        analysis.rules.ranking_key,
    )


def chart(analysis: Analysis, title: str) -> Figure:
    """The scenarios' spreads of the ranking metric across participants."""
    word = analysis.rules.scenario_word
    return scenario_chart(
        analysis.spreads(),
        title=title,
        y_label=heading(analysis),
        x_label=word[:1].upper() + word[1:],
    )


def score_rows(analysis: Analysis) -> tuple[list[str], Iterator[list[object]]]:
    """Header and rows: one per participant and scenario, with the ranking metric's value."""
    header = [
        "rank",
        "participant",
        "submission_id",
        analysis.rules.scenario_word,
        "metric",
        "value",
    ]
    key = analysis.rules.ranking_key
    rows = (
        [e.rank, spreadsheet_safe(e.participant), e.submission_id, name, key, repr(value)]
        for e in analysis.entries
        for name, value in analysis.metric.get(e.submission_id, {}).items()
    )
    return header, rows


def result_rows(analysis: Analysis) -> tuple[list[str], Iterator[list[object]]]:
    """Header and rows of the final leaderboard: rank, participant, ranking score, its
    interval where one was computed, each scenario's ranking metric."""
    key = analysis.rules.ranking_key
    header = [
        "rank",
        "participant",
        "submission_id",
        "ranking_score",
        "ci_low",
        "ci_high",
        *(f"{name}:{key}" for name in analysis.scenarios),
    ]
    rows = (
        [
            e.rank,
            spreadsheet_safe(e.participant),
            e.submission_id,
            repr(e.ranking_score),
            "" if e.ci_low is None else repr(e.ci_low),
            "" if e.ci_high is None else repr(e.ci_high),
            *(_cell(analysis.metric.get(e.submission_id, {}).get(n)) for n in analysis.scenarios),
        ]
        for e in analysis.entries
    )
    return header, rows


def _cell(value: float | None) -> str:
    return "" if value is None else repr(value)


def latex_table(analysis: Analysis, caption: str, label: str) -> str:
    """The final leaderboard as a booktabs table, the best value of each column in bold."""
    intervals = any(e.ci_low is not None for e in analysis.entries)
    columns = [
        "Rank",
        "Participant",
        latex_escape(analysis.rules.words[:1].upper() + analysis.rules.words[1:]),
        *(latex_escape(n) for n in analysis.scenarios),
    ]
    if intervals:
        columns.append(r"95\% interval")
    align = "rl" + "r" * (1 + len(analysis.scenarios)) + ("c" if intervals else "")
    best = _best(analysis)
    lines = [
        f"% {latex_escape(caption)}: made by mia-arena; needs \\usepackage{{booktabs}}",
        r"\begin{table}[t]",
        r"\centering",
        f"\\caption{{{latex_escape(caption)}}}",
        f"\\label{{{label}}}",
        f"\\begin{{tabular}}{{{align}}}",
        r"\toprule",
        " & ".join(columns) + r" \\",
        r"\midrule",
        *(_latex_row(analysis, e, best, intervals) for e in analysis.entries),
        r"\bottomrule",
        r"\end{tabular}",
        r"\end{table}",
    ]
    return "\n".join(lines) + "\n"


def _best(analysis: Analysis) -> dict[str, float]:
    """Each scenario's highest value (the best attack on it)."""
    best: dict[str, float] = {}
    for values in analysis.metric.values():
        for name, value in values.items():
            best[name] = max(best.get(name, value), value)
    return best


def _latex_row(analysis: Analysis, entry: Entry, best: dict[str, float], intervals: bool) -> str:
    """One leaderboard row of the table."""
    values = analysis.metric.get(entry.submission_id, {})
    cells = [str(entry.rank), latex_escape(entry.participant), f"{entry.ranking_score:.4f}"]
    for name in analysis.scenarios:
        value = values.get(name)
        text = "--" if value is None else f"{value:.4f}"
        cells.append(f"\\textbf{{{text}}}" if value is not None and value == best[name] else text)
    if intervals:
        low, high = entry.ci_low, entry.ci_high
        cells.append("--" if low is None or high is None else f"[{low:.4f}, {high:.4f}]")
    return " & ".join(cells) + r" \\"
