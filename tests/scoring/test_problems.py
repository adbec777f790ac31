"""How a list of problems is summarised for a person."""

from __future__ import annotations

from app.scoring.problems import MAX_PROBLEMS, Problem, summarise


def test_repeats_go_and_a_shared_fault_is_counted() -> None:
    """The same problem twice is shown once; 8 files with one fault show 5 and count 3."""
    same = [Problem(f"m{i}/prediction.csv", "199 values, expected 200") for i in range(8)]
    other = Problem("x.csv", "value 1 is NaN")
    assert summarise([other, other, *same], "up.zip") == [
        other,
        *same[:5],
        Problem("up.zip", "3 more files: 199 values, expected 200"),
    ]


def test_the_list_is_capped() -> None:
    """Thousands of distinct problems stop at MAX_PROBLEMS, then say how many more."""
    many = [Problem(f"f{i}", f"fault {i}") for i in range(MAX_PROBLEMS + 50)]
    out = summarise(many, "up.zip")
    assert len(out) == MAX_PROBLEMS + 1
    assert out[-1] == Problem("up.zip", "... and 50 more")
