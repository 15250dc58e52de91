"""``spanbank validate``: every invariant of the corpus, every problem as file:line."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..model import LabelSchema
from ..schema import load_schema
from ..store import open_corpus
from ..validate import validate as validate_corpus
from .common import EXIT_PROBLEMS, corpus_option, emit_json, handle_errors, json_option, progress_bar, say, schema_option


def check_corpus(corpus_path: Path, schema: LabelSchema, allow_unreleased: bool = False, as_json: bool = False) -> None:
    """What the command does (``spanbank run`` calls it too): print every problem; exit 1 when there is one."""
    corpus = open_corpus(corpus_path)
    with progress_bar("validate") as advance:
        problems = validate_corpus(corpus, schema, advance, unreleased_ok=allow_unreleased)
    if as_json:
        emit_json([{"path": p.path, "line": p.line, "message": p.message} for p in problems])
    else:
        for p in problems:
            click.echo(str(p))
        say(f"{len(problems)} problem(s)" if problems else f"{corpus.path}: valid")
    if problems:
        sys.exit(EXIT_PROBLEMS)


@click.command("validate")
@corpus_option
@schema_option
@click.option("--allow-unreleased", is_flag=True, help="Do not count differences from the last release manifest.")
@json_option
@handle_errors
def validate(corpus_path, schema_path, allow_unreleased, as_json):
    """Check every invariant of the corpus; exit 1 when anything is wrong.

    \b
    Example:
      spanbank validate --corpus corpus/
    Each problem is printed as file:line: message.
    """
    check_corpus(corpus_path, load_schema(schema_path), allow_unreleased, as_json)


def register(main: click.Group) -> None:
    main.add_command(validate)
