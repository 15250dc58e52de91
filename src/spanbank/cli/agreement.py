"""``spanbank agreement``: agreement between the annotators (span F1, kappa, alpha)."""

from __future__ import annotations

from pathlib import Path

import click

from .. import agreement as agreement_mod
from ..errors import InputError
from ..model import LAYERS
from ..store import open_corpus
from .common import corpus_option, emit_json, handle_errors, json_option, progress_bar, say

annotator_option = click.option("--annotator", "annotators", multiple=True, metavar="NAME",
                                help="Only these annotators (repeatable; default: everyone found).")


def open_existing(corpus_path: Path):
    corpus = open_corpus(corpus_path)
    if not corpus.exists():
        raise InputError("no corpus here", path=str(corpus.path), hint="run `spanbank ingest` or give --corpus")
    return corpus


@click.command("agreement")
@corpus_option
@click.option("--layer", "layers", multiple=True, type=click.Choice(LAYERS), help="Layer(s) to compare (default: all).")
@annotator_option
@click.option("--no-labels", is_flag=True, help="Only the ALL rows in the table.")
@json_option
@handle_errors
def agreement_cmd(corpus_path, layers, annotators, no_labels, as_json):
    """Agreement between the annotators pulled from Doccano: span F1, Cohen's kappa, Krippendorff's alpha.

    \b
    Example:
      spanbank agreement --corpus corpus/
      spanbank agreement --layer entities --annotator alice --annotator bob --json
    A pair is compared on the documents both labelled; kappa and alpha on the tokens anyone marked.
    """
    corpus = open_existing(corpus_path)
    with progress_bar("agreement") as advance:
        result = agreement_mod.agreement(corpus.documents(), layers or LAYERS, list(annotators) or None, advance)
    if as_json:
        emit_json(result)
    else:
        click.echo(agreement_mod.render_table(result, labels=not no_labels))
    if result["untokenized_documents"]:
        say(f"warning: {result['untokenized_documents']} document(s) have no token offsets: "
            "they count for span F1 but not for kappa or alpha (re-ingest them to segment)")


def register(main: click.Group) -> None:
    main.add_command(agreement_cmd)
