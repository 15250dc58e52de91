"""``spanbank ingest``: add articles to the corpus."""

from __future__ import annotations

import itertools
from pathlib import Path

import click

from .. import ingest as ingest_mod
from ..store import open_corpus
from .common import creates_corpus, corpus_option, emit_json, handle_errors, json_option, progress_bar, say


def ingest_articles(paths: list[Path], corpus_path: Path, skip_bad: bool = False,
                    max_bytes: int = ingest_mod.DEFAULT_MAX_BYTES, as_json: bool = False) -> None:
    """What the command does (``spanbank run`` calls it too): read, segment, write new documents; report."""
    corpus = open_corpus(corpus_path)
    report = ingest_mod.IngestReport()
    with corpus.lock(), progress_bar("ingest") as advance:
        known = set(corpus.ids())
        new = ingest_mod.new_documents(paths, known, max_bytes=max_bytes, skip_bad=skip_bad, report=report,
                                       progress=advance)
        first = next(new, None)
        if first is not None:
            corpus.write(itertools.chain(corpus.documents(), [first], new))
    if as_json:
        emit_json(report.as_dict())
        return
    say(f"{len(report.added)} document(s) added to {corpus.path}")
    for path, doc_id in report.duplicates:
        say(f"duplicate: {path} is already {doc_id}")
    for message in report.skipped:
        say(f"skipped: {message}")
    for message in report.ignored:
        say(f"ignored: {message}")


@click.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@corpus_option
@click.option("--skip-bad", is_flag=True,
              help="Skip unreadable files and bad JSONL records (and list them) instead of aborting the batch.")
@click.option("--max-bytes", type=int, default=ingest_mod.DEFAULT_MAX_BYTES, show_default=True,
              help="Refuse files larger than this.")
@json_option
@handle_errors
@creates_corpus
def ingest(paths, corpus_path, skip_bad, max_bytes, as_json):
    """Add articles (seed format, plain .txt, JSONL) to the corpus.

    \b
    Example:
      spanbank ingest seeds/ --corpus corpus/
      spanbank ingest more.jsonl --skip-bad
    Re-ingesting an article is a no-op; one bad file aborts the batch with the corpus untouched.
    """
    ingest_articles(paths, corpus_path, skip_bad, max_bytes, as_json)


def register(main: click.Group) -> None:
    main.add_command(ingest)
