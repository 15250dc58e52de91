"""``spanbank stats``: documents and annotations per set, layer and label."""

from __future__ import annotations

import click

from .. import release as release_mod
from ..store import open_corpus
from .common import corpus_option, emit_json, handle_errors, json_option, progress_bar


@click.command("stats")
@corpus_option
@json_option
@handle_errors
def stats(corpus_path, as_json):
    """Documents and annotations per set, layer and label.

    \b
    Example:
      spanbank stats --json
    """
    corpus = open_corpus(corpus_path)
    with progress_bar("stats") as advance:
        counts = release_mod.corpus_counts(corpus.documents(), advance)
    manifest = corpus.read_manifest()
    counts["version"] = manifest["version"] if manifest else None
    if as_json:
        emit_json(counts)
        return
    click.echo(f"{corpus.path}: {counts['documents']} documents, release {counts['version'] or '(none)'}")
    for set_name, layers in counts["annotations"].items():
        for layer, labels in layers.items():
            click.echo(f"  {set_name:<20} {layer:<24} " + ", ".join(f"{k}={v}" for k, v in labels.items()))


def register(main: click.Group) -> None:
    main.add_command(stats)
