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

from ..errors import CorpusError, SpanbankError

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2
console = Console(stderr=True, highlight=False)

corpus_option = click.option(
    "--corpus", "corpus_path", type=click.Path(file_okay=False, path_type=Path), default=Path("corpus"),
    show_default=True, help="Corpus folder.")
schema_option = click.option(
    "--schema", "schema_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Label schema YAML (default: schema/spanbank.yaml).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout.")


def creates_corpus(func: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a command that may create its ``--corpus`` (every other command refuses a missing one)."""
    func.creates_corpus = True  # type: ignore[attr-defined]
    return func


def _require_corpus(func: Callable[..., Any], kwargs: dict[str, Any]) -> None:
    path = kwargs.get("corpus_path")
    if path is None or getattr(func, "creates_corpus", False):
        return
    from ..store import open_corpus

    if not open_corpus(path).exists():
        raise CorpusError("no corpus here", path=str(path),
                          hint="give the folder holding documents.jsonl with --corpus, or run `spanbank ingest ARTICLES` first")


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn library and OS errors into one clear line on stderr and exit status 1 (the only place that does).

    Also refuses a ``--corpus`` folder that holds no corpus, unless the command is marked :func:`creates_corpus`.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            _require_corpus(func, kwargs)
            return func(*args, **kwargs)
        except SpanbankError as exc:
            console.print(f"[bold red]error:[/] {escape(str(exc))}", markup=True, soft_wrap=True)  # the message is text
            sys.exit(EXIT_PROBLEMS)
        except OSError as exc:  # unwritable output, full disk, ...: one line, no traceback
            where = f"{exc.filename}: " if exc.filename else ""
            console.print(f"[bold red]error:[/] {where}{exc.strerror or exc}", markup=True, soft_wrap=True)
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
