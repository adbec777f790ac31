"""Server-side pages of the organizers' long lists (submissions, participants, the audit log):
a page number in, the page's rows and the total out, in a fixed number of statements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar
from urllib.parse import urlencode

from fastapi import Query

PER_PAGE = 50
PageNumber = Annotated[int, Query(ge=1, le=1_000_000, description="which page, from 1")]
T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its rows, which page it is, and how many rows the list has."""

    rows: list[T]
    number: int
    total: int
    per_page: int = PER_PAGE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def first(self) -> int:
        """The 1-based position of the page's first row (0 when the list is empty)."""
        return (self.number - 1) * self.per_page + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0


def offset_of(number: int, per_page: int = PER_PAGE) -> int:
    return (number - 1) * per_page


def page_url(path: str, filters: dict[str, str], number: int) -> str:
    """The list's address for page `number`, with the same filters (empty ones left out)."""
    query = {k: v for k, v in filters.items() if v}
    if number > 1:
        query["page"] = str(number)
    return f"{path}?{urlencode(query)}" if query else path
