"""What the readers report: a place (a path inside the zip or folder) and what is wrong there."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

MAX_PATH = 200  # characters of a path or name shown back; a hostile zip may hold 60,000
MAX_MESSAGE = 400
MAX_PROBLEMS = 300
SAME_FAULT_SHOWN = 5  # files listed with one identical fault before the rest are counted


def shown(text: str, limit: int) -> str:
    """Text fit to show a person: control and format characters escaped, cut to `limit`."""
    if not text.isprintable():
        text = "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True, order=True)
class Problem:
    """One fault a person can act on, e.g. `.../prediction.csv: 199 values, expected 200`."""

    path: str
    message: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", shown(self.path, MAX_PATH))
        object.__setattr__(self, "message", shown(self.message, MAX_MESSAGE))

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class InvalidInput(Exception):
    """Raised with every problem found, never just the first, and what was ignored meanwhile."""

    def __init__(self, problems: list[Problem], warnings: list[Problem] | None = None) -> None:
        self.problems = problems
        self.warnings = warnings or []
        super().__init__("\n".join(str(p) for p in problems))


def summarise(problems: list[Problem], name: str) -> list[Problem]:
    """Problems fit to read: no repeats, one fault shared by many files counted, a total cap.

    A shifted zip directory damages all 300 files alike; 300 files may all hold 199 values:
    the first few are named and the rest counted, under the upload's `name`.
    """
    unique = list(dict.fromkeys(problems))
    by_fault: defaultdict[str, list[Problem]] = defaultdict(list)
    for p in unique:
        by_fault[p.message].append(p)
    out = []
    for p in unique:
        same = by_fault[p.message]
        if len(same) <= SAME_FAULT_SHOWN or p in same[:SAME_FAULT_SHOWN]:
            out.append(p)
        elif p is same[SAME_FAULT_SHOWN]:
            out.append(Problem(name, f"{len(same) - SAME_FAULT_SHOWN} more files: {p.message}"))
    if len(out) > MAX_PROBLEMS:
        out = out[:MAX_PROBLEMS] + [Problem(name, f"... and {len(out) - MAX_PROBLEMS} more")]
    return out


def headed(heading: str, items: Sequence[Problem]) -> list[str]:
    """Lines to print: `heading (N):` then each item indented; nothing when there are none."""
    if not items:
        return []
    return [f"{heading} ({len(items)}):", *(f"  {item}" for item in items)]
