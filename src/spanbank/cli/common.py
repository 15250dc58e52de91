"""What every command shares: the error-to-exit-code shell, JSON output, progress bars, options."""

from __future__ import annotations

import contextlib
import functools
import json
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..errors import SpanbankError

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2
console = Console(stderr=True, highlight=False)

corpus_option = click.option(
    "--corpus", "corpus_path", type=click.Path(file_okay=False, path_type=Path), default=Path("corpus"),
    show_default=True, help="Corpus folder.")
json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout.")


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn library errors into one clear line on stderr and exit status 1 (the only place that does)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except SpanbankError as exc:
            console.print(f"[bold red]error:[/] {escape(str(exc))}", markup=True, soft_wrap=True)  # the message is text
            sys.exit(EXIT_PROBLEMS)

    return wrapper


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True))


@contextlib.contextmanager
def progress_bar(description: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr; yields ``advance(n)``.  Hidden when stderr is not a terminal."""
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True, disable=not console.is_terminal) as progress:
        task = progress.add_task(description, total=total)
        yield lambda n=1: progress.advance(task, n)


def say(message: str) -> None:
    """A human-readable status line on stderr (stdout is kept for data)."""
    console.print(message, markup=False, soft_wrap=True)
