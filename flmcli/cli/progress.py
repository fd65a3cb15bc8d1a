"""The `flm predict` progress bar: rich, on stderr, only where the command decided to draw it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..batch import Scored


def track(stream: Iterator[Scored], position: Callable[[], int], total: int | None) -> Iterator[Scored]:
    """Pass `stream` through, drawing bytes read (`position()` of `total`), rows and rows per second."""
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[rows]:,} rows"),
        TextColumn("{task.fields[rate]:,.0f} rows/s"),
        TimeElapsedColumn(),
    )
    rows = 0
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task("scoring", total=total, rows=0, rate=0.0)
        for scored in stream:
            rows += len(scored.batch)
            elapsed = bar.tasks[0].elapsed or 0.0
            bar.update(task, completed=position(), description=scored.batch.source, rows=rows,
                       rate=rows / elapsed if elapsed else 0.0)
            yield scored
