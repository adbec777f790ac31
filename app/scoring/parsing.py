"""Numbers out of `prediction.csv` and `solution.csv` files.

A file holds its values comma-separated on one line or one per line (blank lines, CRLF, a UTF-8
BOM and spaces around values are fine). Two paths read them and agree on every file they both
accept:

- `parse_batch` joins all files and hands them to orjson in one call: about 2 ms for a whole
  MICO submission. It gives up (returns None) at the first thing it is not sure of.
- `parse_file` reads one file token by token, accepts every unambiguous number (`.5`, `1.`,
  `+0.5`) and describes each fault in words a participant can act on.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import orjson
from numpy.typing import NDArray

BOM = b"\xef\xbb\xbf"
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")  # ASCII digits
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_NUMERIC_BYTES = b"0123456789.eE+-, \t\n\r"
_SHOW = 3  # values described one by one before "and N more"
_SEPARATORS = ((";", "';'"), ("\t", "tabs"), (" ", "spaces"))


@dataclass(frozen=True)
class ValueRule:
    """What a value must be: a probability in [0, 1], or a 0/1 membership label."""

    labels: bool = False

    def fault(self, value: float) -> str | None:
        """Why `value` is not allowed, or None."""
        if math.isnan(value):
            return "is NaN"
        if math.isinf(value):
            return "is infinite"
        if self.labels:
            if value not in (0.0, 1.0):
                return f"is {value:g}; a label is 0 (non-member) or 1 (member)"
        elif not 0.0 <= value <= 1.0:
            return f"is {value:g}, outside [0, 1]"
        return None

    def all_valid(self, values: NDArray[np.float64]) -> bool:
        """True when every value is allowed (vectorised)."""
        if self.labels:
            return bool(np.all((values == 0.0) | (values == 1.0)))
        return bool(np.all((values >= 0.0) & (values <= 1.0)))


PROBABILITY = ValueRule()
LABEL = ValueRule(labels=True)


def _normalise(content: bytes) -> bytes | None:
    """One file's values as a single comma-separated line for the fast path, or None.

    None for several lines of several values, which the precise path refuses with its reason.
    """
    content = content.removeprefix(BOM).strip()
    if b"\n" in content or b"\r" in content:
        if b"," in content:
            return None
        content = content.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b",")
    return content


def parse_batch(
    contents: Sequence[bytes], count: int, rule: ValueRule
) -> NDArray[np.float64] | None:
    """All files' values concatenated, if every file is plainly valid; None otherwise."""
    # A line longer than 24 bytes a value may hold many more values than expected: count
    # them before orjson builds a list of millions (a plain line is 11-19 bytes a value).
    long = 24 * count
    lines = []
    for content in contents:
        line = _normalise(content)
        if line is None or line.translate(None, _NUMERIC_BYTES):
            return None  # anything but numbers, separators and spaces: the precise path tells
        if len(line) > long and line.count(b",") + 1 != count:
            return None
        lines.append(line)
    try:
        # One list per file: a file with another count makes the array ragged, a ValueError.
        values = np.array(orjson.loads(b"[[" + b"],[".join(lines) + b"]]"), dtype=np.float64)
    except (orjson.JSONDecodeError, TypeError, ValueError):
        return None
    if values.shape != (len(contents), count) or not rule.all_valid(values):
        return None
    return values.reshape(-1)


def _decode(content: bytes) -> tuple[str | None, str | None]:
    """Text of a file and None, or None and the reason it is not text."""
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None, "is UTF-16 text; save it as UTF-8 (or plain ASCII) text"
    if b"\x00" in content:
        return None, "is binary, not text"
    return content.removeprefix(BOM).decode("utf-8", errors="replace"), None


def _lines(text: str) -> list[str]:
    """The non-blank lines of a text (CRLF, CR or LF; no other character breaks a line)."""
    return [line for line in _LINE_BREAK.split(text) if line.strip()]


def _describe(faults: list[str]) -> str:
    """First few faults, then how many more."""
    shown = "; ".join(faults[:_SHOW])
    more = len(faults) - _SHOW
    return f"{shown} (and {more} more)" if more > 0 else shown


def parse_file(
    content: bytes, count: int, rule: ValueRule
) -> tuple[NDArray[np.float64] | None, list[str]]:
    """One file's values, or None and what is wrong with it (each a short sentence)."""
    text, why = _decode(content)
    if text is None:
        return None, [why or "cannot be read"]
    rows = [[token.strip() for token in line.split(",")] for line in _lines(text)]
    tokens = [token for row in rows for token in row]
    if not tokens:
        return None, [f"is empty; expected {count} values"]
    separator = _separator(tokens)
    if separator:
        return None, [f"separates values with {separator}: use commas, or one value a line"]
    written = _pandas_hint(rows, count)
    if written:
        return None, [written]
    if len(tokens) > 2 * count:  # not worth describing value by value
        return None, [f"{len(tokens)} values, expected {count}"]
    problems = []
    if len(rows) > 1 and any(len(row) > 1 for row in rows):
        problems.append(
            f"has {len(rows)} lines of comma-separated values; write all {count} values on "
            "one line, or one value per line"
        )
    if len(tokens) != count:
        problems.append(f"{len(tokens)} value{'s' if len(tokens) != 1 else ''}, expected {count}")
    values = np.empty(len(tokens), dtype=np.float64)
    unreadable: list[str] = []
    invalid: list[str] = []
    for i, token in enumerate(tokens, start=1):
        value = _to_float(token)
        if value is None:
            shown = token if len(token) <= 20 else token[:20] + "..."
            unreadable.append(
                f"value {i} is '{shown}', not a number"
                if token
                else f"value {i} is empty (two commas in a row?)"
            )
            continue
        fault = rule.fault(value)
        if fault:
            invalid.append(f"value {i} {fault}")
        values[i - 1] = value
    for faults in (unreadable, invalid):
        if faults:
            problems.append(_describe(faults))
    return (None, problems) if problems else (values, [])


def _separator(tokens: list[str]) -> str | None:
    """How the values are separated when not by commas (`';'`, tabs, spaces), or None."""
    for separator, said in _SEPARATORS:
        for token in tokens:
            parts = [p for p in token.split(separator) if p.strip()]
            if len(parts) > 1 and all(_to_float(p.strip()) is not None for p in parts):
                return said
    return None


def _pandas_hint(rows: list[list[str]], count: int) -> str | None:
    """What to change when a file looks written by pandas' `to_csv` with its header or index.

    Pandas writes a header line (`,0` or `prediction`, or column names 0, 1, ... above one
    row) and a first column of row numbers unless told `header=False, index=False`.
    """
    first, body = rows[0], rows[1:]
    if not body:  # one row with its index in front: `0,v1,...,v200`
        if first[0] == "0" and len(first) == count + 1:
            return (
                f"looks like a pandas index (a first value 0 before the {count} values): "
                "write it with to_csv(path, index=False)"
            )
        return None
    if not all(_to_float(t) is not None for row in body for t in row):
        return None
    numbered = first == [str(i) for i in range(len(first))]
    header = (
        first[0] == ""
        or (all(_to_float(t) is None for t in first) and not first[0].startswith("#"))
        or (numbered and sum(map(len, body)) == count)
    )
    if not header:
        body = rows
    column = [row[0] for row in body]
    index = (header and first[0] == "") or (
        len(body) > 1
        and all(len(row) == 2 for row in body)
        and column in ([str(i) for i in range(len(body))], [str(i + 1) for i in range(len(body))])
    )
    line = ",".join(first)
    line = line if len(line) <= 20 else line[:20] + "..."
    if header and index:
        return (
            f"looks like a pandas header and index (first line '{line}'): write it with "
            "to_csv(path, header=False, index=False)"
        )
    if header:
        return (
            f"looks like a pandas header (first line '{line}'): "
            "write it with to_csv(path, header=False)"
        )
    if index:
        return (
            f"looks like a pandas index (a first column of row numbers {', '.join(column[:3])}, "
            "...): write it with to_csv(path, index=False)"
        )
    return None


def _to_float(token: str) -> float | None:
    """A decimal number, NaN or infinity; None for anything else."""
    if _NUMBER.fullmatch(token):
        return float(token)
    if token.lower().lstrip("+-") in ("nan", "inf", "infinity"):
        return float(token)
    return None
