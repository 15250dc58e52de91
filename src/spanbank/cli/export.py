"""``spanbank export``: the corpus as CoNLL, brat, spaCy DocBin or Doccano JSONL."""

from __future__ import annotations

from pathlib import Path

import click

from ..formats import EXPORT_FORMATS
from ..formats.export import export as export_corpus
from ..schema import load_schema
from ..store import open_corpus
from ..validate import require_valid
from .common import corpus_option, emit_json, handle_errors, json_option, progress_bar, say, schema_option


@click.command()
@click.option("--format", "fmt", type=click.Choice(EXPORT_FORMATS), required=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder (default: dist/export/<format>).")
@click.option("--set", "set_name", default=None, help="Annotation set (default: gold where present, else silver).")
@schema_option
@corpus_option
@json_option
@handle_errors
def export(fmt, out, set_name, schema_path, corpus_path, as_json):
    """Export the corpus for other tools, and say what the format cannot carry.

    \b
    Examples:
      spanbank export --format conll --out dist/conll     # IOB2 entities
      spanbank export --format brat --out dist/brat       # events and attributions as E lines
      spanbank export --format spacy --out dist/spacy     # DocBin: doc.ents + doc.spans per layer
      spanbank export --format doccano --out dist/doccano # Doccano JSONL (UTF-16 offsets)
    """
    corpus = open_corpus(corpus_path)
    with progress_bar("validate") as advance:
        require_valid(corpus, load_schema(schema_path), advance)  # nothing is exported from a corpus that does not validate
    with progress_bar(f"export {fmt}") as advance:
        out = out or Path("dist/export") / fmt
        report = export_corpus(fmt, corpus.documents(), out, set_name, advance)
    if as_json:
        emit_json({"files": report.files, "documents": report.documents, "cannot_carry": report.notes})
        return
    say(f"exported {report.documents} document(s) as {fmt}: {len(report.files)} file(s) under {out}")
    for note in report.notes:
        say(f"  not carried: {note}")


def register(main: click.Group) -> None:
    main.add_command(export)
