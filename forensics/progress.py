"""Progress reporting that stages accept without knowing about the terminal."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class Progress(Protocol):
    def task(self, description: str, total: float | None = None) -> "Task": ...


class Task(Protocol):
    def advance(self, amount: float = 1) -> None: ...


class _SilentTask:
    def advance(self, amount: float = 1) -> None:
        pass


class SilentProgress:
    """The default for library calls and tests: reports nothing."""

    def task(self, description: str, total: float | None = None) -> Task:
        return _SilentTask()


class _RichTask:
    def __init__(self, bar, task_id) -> None:
        self._bar, self._id = bar, task_id

    def advance(self, amount: float = 1) -> None:
        self._bar.advance(self._id, amount)


class RichProgress:
    def __init__(self, bar) -> None:
        self._bar = bar

    def task(self, description: str, total: float | None = None) -> Task:
        return _RichTask(self._bar, self._bar.add_task(description, total=total))


@contextmanager
def progress_for(quiet: bool) -> Iterator[Progress]:
    """A rich progress display on stderr, or nothing when quiet or not a terminal."""
    if quiet or not sys.stderr.isatty():
        yield SilentProgress()
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress as Bar, TextColumn, TimeElapsedColumn

    with Bar(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=Console(stderr=True), transient=True,
    ) as bar:
        yield RichProgress(bar)
