"""Text for the participants' client: what a server or a teammate wrote, made safe for a
terminal, and the tables it prints."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

# Per shown split: the leaderboard's metrics, in its order (key, heading).
COLUMNS = (
    ("TPR_FPR_1000", "TPR@0.1"),
    ("TPR_FPR_100", "TPR@0.01"),
    ("TPR_FPR_10", "TPR@0.001"),
    ("AUC", "AUC"),
    ("MIA", "MIA"),
    ("accuracy", "accuracy"),
)


def clean(text: str, limit: int = 2000) -> str:
    """Control characters (escape sequences, carriage returns) shown as `\\x1b`, not obeyed;
    cut to `limit` characters."""
    out = "".join(c if c.isprintable() or c == "\n" else repr(c)[1:-1] for c in text[: limit + 1])
    return out if len(text) <= limit else out[:limit] + "..."


def duration(seconds: int) -> str:
    """`2 h 13 min`, `45 s`: a wait as a person reads it."""
    if seconds < 60:
        return f"{seconds} s"
    hours, minutes = divmod(seconds // 60, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def scores_table(submission: dict[str, Any]) -> str:
    """Each shown split: scenarios x the leaderboard's metrics, then the ranking score."""
    blocks = []
    scores = submission.get("scores") or {}
    for split, shown in scores.items():
        scenarios = shown.get("scenarios") or {}
        title = f"{clean(str(submission.get('track', '')), 60)}, {clean(str(split), 20)} split"
        width = max([len(title), *(len(clean(s, 60)) for s in scenarios)]) + 2
        columns = _columns(scenarios)
        lines = [title.ljust(width) + "".join(h.rjust(11) for _, h in columns)]
        for name, metrics in scenarios.items():
            cells = "".join(_number(metrics.get(key), 11) for key, _ in columns)
            lines.append(clean(name, 60).ljust(width) + cells)
        how = clean(str(shown.get("ranking") or "mean TPR@0.1 FPR"), 120)
        lines.append(f"ranking score ({how}): {_number(shown.get('ranking_score'), 0)}")
        blocks.append("\n".join(lines))
    if not blocks:
        return "no scores shown in this phase"
    return "\n\n".join(blocks)


def _columns(scenarios: dict[str, Any]) -> list[tuple[str, str]]:
    """The leaderboard's metrics that the scenarios have (a competition with other FPR
    thresholds has other TPRs: those it has, by their key), in the leaderboard's order."""
    keys = {k for metrics in scenarios.values() if isinstance(metrics, dict) for k in metrics}
    known = [(key, heading) for key, heading in COLUMNS if key in keys]
    if any(key.startswith("TPR_FPR_") for key, _ in known) or not keys:
        return known or list(COLUMNS)
    tprs = sorted((k for k in keys if k.startswith("TPR_FPR_")), key=_threshold, reverse=True)
    return [(k, f"TPR@{_threshold(k) / 1e4:g}") for k in tprs] + known


def _threshold(key: str) -> int:
    digits = key.removeprefix("TPR_FPR_")
    return int(digits) if digits.isdigit() else 0


def _number(value: object, width: int) -> str:
    text = f"{value:.4f}" if isinstance(value, int | float) else "-"
    return text.rjust(width)


def when(stamp: object) -> str:
    """`2026-12-01 21:50 UTC` from the API's ISO time (naive times are UTC)."""
    try:
        at = datetime.fromisoformat(str(stamp))
    except ValueError:
        return "-"
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def shown_status(row: dict[str, Any]) -> str:
    """The status to print: `disqualified` where the organizers disqualified it, also from a
    server that reports the reason alone."""
    return "disqualified" if row.get("disqualified") else str(row.get("status", ""))


def submissions_table(rows: list[dict[str, Any]]) -> str:
    """One's own submissions: id, time, status, ranking score per shown split, description."""
    splits: list[str] = []
    for row in rows:
        splits += [s for s in row.get("scores") or {} if s not in splits]
    heads = ["id", "uploaded", "status", *(f"{clean(s, 12)} score" for s in splits), "description"]
    table = []
    for row in rows:
        scores = row.get("scores") or {}
        table.append(
            [
                str(row.get("id", "")),
                when(row.get("created_at")),
                clean(shown_status(row), 20),
                *(_number((scores.get(s) or {}).get("ranking_score"), 0) for s in splits),
                clean(" ".join(str(row.get("description") or "").split()), 50),
            ]
        )
    widths = [max(len(r[i]) for r in [heads, *table]) for i in range(len(heads))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in [heads, *table]
    ]
    return "\n".join(lines)
