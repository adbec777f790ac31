"""The scoring package stays pure: a participant's laptop needs numpy and orjson only (and
PyYAML only to read a YAML definition: `app.scoring.schema` imports it when it reads one)."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
import app.scoring.readers, app.scoring.scorer, app.scoring.demo, app.scoring.schema
heavy = {"fastapi", "sqlalchemy", "celery", "redis", "sklearn", "app.core", "click", "yaml"}
print(sorted(m for m in sys.modules if m.split(".")[0] in heavy or m.startswith("app.core")))
"""


def test_scoring_imports_no_web_database_queue_or_cli_code() -> None:
    """Importing the readers and the scorer loads none of the server's or the CLI's libraries."""
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
