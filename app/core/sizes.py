"""File sizes as people read them: bytes, KB or MB with the digits that matter."""

from __future__ import annotations

KB = 1024
MB = 1024 * 1024


def size_text(size: int) -> str:
    """312 is "312 B", 20 480 is "20 KB", 1.5 MiB is "1.5 MB", 2 MiB "2 MB": never "0.00 MB"."""
    if size < KB:
        return f"{size} B"
    value, unit = (size / KB, "KB") if size < MB else (size / MB, "MB")
    digits = 2 if value < 10 else 1 if value < 100 else 0
    text = f"{value:.{digits}f}"
    return f"{text.rstrip('0').rstrip('.') if digits else text} {unit}"
