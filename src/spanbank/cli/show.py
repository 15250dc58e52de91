"""``spanbank show``: an HTML view of one document's layers."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import CorpusError
from ..schema import load_schema
from ..show import render_html
from ..store import open_corpus
from .common import corpus_option, handle_errors, say, schema_option


@click.command("show")
@click.argument("doc_id")
@corpus_option
@schema_option
@click.option("--set", "set_name", default=None, help="Annotation set (default: gold if present, else silver).")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path), help="Write the page here.")
@handle_errors
def show(doc_id, corpus_path, schema_path, set_name, html_path):
    """An HTML view of one document with its layers coloured as in the schema.

    \b
    Example:
      spanbank show doc-354dc6570c93f9e4 --html seed.html
    DOC_ID may be a unique prefix.  Without --html the page goes to stdout.
    """
    corpus = open_corpus(corpus_path)
    doc = find_document(corpus, doc_id)
    chosen = set_name or doc.published_set().name
    page = render_html(doc, load_schema(schema_path), chosen)
    if html_path:
        html_path.write_text(page, encoding="utf-8")
        say(f"wrote {html_path} ({doc.id}, set {chosen})")
    else:
        click.echo(page)


def find_document(corpus, doc_id: str):
    matches = [d for d in corpus.documents() if d.id.startswith(doc_id)]
    if len(matches) != 1:
        found = "no document" if not matches else f"{len(matches)} documents"
        raise CorpusError(f"{found} with id {doc_id!r}", path=str(corpus.documents_path),
                          hint="give a full id or a unique prefix (see `spanbank stats`)")
    return matches[0]


def register(main: click.Group) -> None:
    main.add_command(show)
