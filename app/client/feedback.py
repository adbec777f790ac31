"""Progress for people and for logs: a bar and a spinner on a terminal, plain lines elsewhere
(CI logs get no carriage returns or escape sequences)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

import click

from app.core.sizes import size_text

FRAMES = "|/-\\"


def on_terminal(stream: TextIO | None = None) -> bool:
    """True when `stream` (standard error) is a terminal a person watches."""
    stream = stream or sys.stderr
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


@contextmanager
def upload_progress(size: int, label: str) -> Iterator[Callable[[int], None]]:
    """A callback taking each chunk's size: a bar on a terminal, one line before and after
    otherwise."""
    if not on_terminal():
        click.echo(f"{label} ({size_text(size)}) ...", err=True)
        yield lambda sent: None
        click.echo("uploaded", err=True)
        return
    with click.progressbar(
        length=size, label=label, file=sys.stderr, show_pos=False, show_percent=True, width=30
    ) as bar:
        yield bar.update


class Spinner:
    """`waiting for the score: queued |` turning on a terminal; a line per change otherwise."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.status = ""
        self._terminal = on_terminal()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Spinner:
        if self._terminal:
            self._thread = threading.Thread(target=self._spin, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            click.echo("\r\x1b[K", nl=False, err=True)  # the spinner's line, cleared

    def show(self, status: str) -> None:
        """Say the submission's status (printed once per change outside a terminal)."""
        if status != self.status and not self._terminal:
            click.echo(f"{self.label}: {status}", err=True)
        self.status = status

    def _spin(self) -> None:
        turn = 0
        while not self._stop.wait(0.1):
            frame = FRAMES[turn % len(FRAMES)]
            click.echo(f"\r{self.label}: {self.status} {frame}\x1b[K", nl=False, err=True)
            turn += 1
