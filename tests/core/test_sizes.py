"""Sizes read as people write them: no "0.00 MB" for a small file."""

from __future__ import annotations

import pytest

from app.core.sizes import size_text


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 B"),
        (312, "312 B"),
        (1536, "1.5 KB"),
        (20 * 1024, "20 KB"),
        (150_000, "146 KB"),
        (2 * 1024 * 1024, "2 MB"),
        (1_600_000, "1.53 MB"),
        (200 * 1024 * 1024, "200 MB"),
    ],
)
def test_sizes_use_the_unit_that_fits(size: int, text: str) -> None:
    assert size_text(size) == text
