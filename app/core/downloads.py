"""Files the server hands out as downloads: attachments, and CSV safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from fastapi.responses import Response


def attachment(filename: str) -> dict[str, str]:
    """The header that makes a browser save the answer under `filename`."""
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


def spreadsheet_safe(text: str) -> str:
    """A cell a spreadsheet will not run as a formula (participants choose their names)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_download(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[object]]
) -> Response:
    """A CSV attachment of `rows` under `header`."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return Response(out.getvalue(), media_type="text/csv", headers=attachment(filename))
