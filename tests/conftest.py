"""Fixtures shared by every test folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.scoring.demo import write_demo_data

pytest_plugins = [
    "tests.fixtures.database",
    "tests.fixtures.browser",
    "tests.fixtures.services",
    "tests.fixtures.arena",
    "tests.fixtures.live",
    "tests.fixtures.smtp",
]


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Demo data for cifar10 and ddp (seed 3): `truth/` and `submissions/{track}-{attack}.zip`."""
    out = tmp_path_factory.mktemp("demo")
    write_demo_data(out, ["cifar10", "ddp"], seed=3)
    return out
