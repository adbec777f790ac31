"""Reading the numbers of one file: fast and precise paths agree, faults are described."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from app.scoring.parsing import LABEL, PROBABILITY, parse_batch, parse_file


def _texts(rng: np.random.Generator, n: int) -> list[str]:
    """Numbers written every way a participant's tools write them."""
    x = rng.random(n)
    forms = [
        repr(float(x[0])),
        str(np.float32(x[1])),
        f"{x[2]:.3e}",
        f"{x[3]:.17g}",
        f"{x[4]:.2f}",
        f"{x[5]:E}",
        "0",
        "1",
        "1.0",
        "0.0",
        "1e-300",
        "5e-324",
        "0.30000000000000004",
    ]
    return forms + [repr(float(v)) for v in x[6:]]


def test_fast_path_reads_every_number_exactly_as_python_float_does() -> None:
    """orjson's parse of each written form gives the very float that float() gives."""
    rng = np.random.default_rng(7)
    texts = _texts(rng, 20_000)
    values = parse_batch([",".join(texts).encode()], len(texts), PROBABILITY)
    assert values is not None
    assert np.array_equal(values, np.array([float(t) for t in texts]))


@pytest.mark.parametrize(
    "content",
    [
        b"0.25,0.5,1",
        b"0.25,0.5,1\r\n",
        b"\xef\xbb\xbf0.25,0.5,1\n",
        b"  0.25 , 0.5 ,1  ",
        b"0.25\n0.5\n1\n",
        b"0.25\r\n0.5\r\n1\r\n",
        b"2.5e-01,5E-1,1.0e0",
        b"0.25\n\n0.5\n1\n",
        b".25,0.5,1.",
        b"+0.25,0.5,1",
        b"0.25\xc2\xa0,0.5,1",  # a no-break space, which np.loadtxt strips too
    ],
)
def test_accepted_forms_give_the_same_values(content: bytes) -> None:
    """Line endings, BOM, spaces, one value per line and number styles are all fine."""
    values, problems = parse_file(content, 3, PROBABILITY)
    assert problems == []
    assert values is not None and values.tolist() == [0.25, 0.5, 1.0]
    fast = parse_batch([content], 3, PROBABILITY)
    assert fast is None or fast.tolist() == [0.25, 0.5, 1.0]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"0.1,0.2", "2 values, expected 3"),
        (b"0.1,0.2,0.3,0.4", "4 values, expected 3"),
        (b"0.1,nan,0.3", "value 2 is NaN"),
        (b"0.1,0.2,inf", "value 3 is infinite"),
        (b"0.1,-0.2,0.3", "value 2 is -0.2, outside [0, 1]"),
        (b"0.1,0.2,1.5", "value 3 is 1.5, outside [0, 1]"),
        (b"0.1,abc,0.3", "value 2 is 'abc', not a number"),
        (b"0.1,,0.3", "value 2 is empty (two commas in a row?)"),
        (b"0.1;0.2;0.3", "separates values with ';': use commas, or one value a line"),
        (b"1_0,0.2,0.3", "value 1 is '1_0', not a number"),
        (b"", "is empty; expected 3 values"),
        (b"\r\n  \r\n", "is empty; expected 3 values"),
        (b"\xff\xfe0\x00.\x001\x00", "is UTF-16 text"),
        (b"0.1,0.2\n0.3", "has 2 lines of comma-separated values; write all 3 values on one"),
        (b"0.1\x0c0.2\x0c0.3", "value 1 is '0.1\x0c0.2\x0c0.3', not a number"),
        (
            "０.1,٠.٥,0.3".encode(),
            "value 1 is '０.1', not a number; value 2 is '٠.٥', not a number",
        ),
        (b"0.1,0.2,0.3\x00", "is binary"),
    ],
)
def test_faults_are_described(content: bytes, expected: str) -> None:
    """Each fault comes back as words naming the value and what is wrong with it."""
    values, problems = parse_file(content, 3, PROBABILITY)
    assert values is None
    assert any(expected in p for p in problems), problems
    assert parse_batch([content], 3, PROBABILITY) is None


def test_many_faults_in_one_file_are_summarised() -> None:
    """Three bad values are shown, the rest counted, so a message stays readable."""
    _, problems = parse_file(b",".join([b"2"] * 10), 10, PROBABILITY)
    assert problems == [
        "value 1 is 2, outside [0, 1]; value 2 is 2, outside [0, 1]; "
        "value 3 is 2, outside [0, 1] (and 7 more)"
    ]


def test_long_garbage_is_cut_short_in_the_message() -> None:
    """A huge unparseable token is not echoed back whole."""
    _, problems = parse_file(b"x" * 100_000 + b",0,1", 3, PROBABILITY)
    assert len(problems[0]) < 80 and "not a number" in problems[0]


def test_labels_must_be_zero_or_one() -> None:
    """Ground truth takes 0 and 1 only; 0.5 is named as the fault."""
    values, problems = parse_file(b"1,0,1.0", 3, LABEL)
    assert problems == [] and values is not None and values.tolist() == [1, 0, 1]
    _, problems = parse_file(b"1,0.5,0", 3, LABEL)
    assert problems == ["value 2 is 0.5; a label is 0 (non-member) or 1 (member)"]
    assert parse_batch([b"1,0.5,0"], 3, LABEL) is None


def test_fast_path_refuses_what_is_not_plain_numbers() -> None:
    """JSON constructs hidden in a file never slip through the fast path."""
    for content in (b'"0.5",0.5,0.5', b"[0.5],0.5,0.5", b"true,0,1", b"null,0,1", b"0.5,0.5,1e999"):
        assert parse_batch([content], 3, PROBABILITY) is None


def test_a_file_of_far_too_many_values_is_counted_not_described() -> None:
    """3,001 bad values give one count, not thousands of faults read one by one."""
    values, problems = parse_file(b"x," * 3000 + b"x", 200, PROBABILITY)
    assert values is None and problems == ["3001 values, expected 200"]


def test_long_lines_are_counted_before_orjson_builds_a_list() -> None:
    """300 files of 6,000 values each are refused without millions of Python floats."""
    contents = [b"0," * 5999 + b"0"] * 300
    tracemalloc.start()
    try:
        assert parse_batch(contents, 200, PROBABILITY) is None
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 1024  # orjson's list of 1.8 million floats would be about 60 MB
