"""``spanbank release``: semantic version, manifest, CHANGELOG.md entry and git tag."""

from __future__ import annotations

from pathlib import Path

import click

from .. import release as release_mod
from ..agreement import agreement, agreement_summary
from ..errors import SpanbankError
from ..model import LabelSchema
from ..schema import load_schema
from ..store import open_corpus
from .common import corpus_option, emit_json, handle_errors, json_option, say, schema_option


def release_corpus(corpus_path: Path, schema: LabelSchema, bump: str = "auto", name: str | None = None,
                   git: bool = True, as_json: bool = False) -> None:
    """What the command does (``spanbank run`` calls it too): release, then say the version and changelog entry."""
    corpus = open_corpus(corpus_path)
    result = release_mod.release(corpus, schema, bump=bump, name=name, git=git, extra=measured_agreement(corpus))
    if as_json:
        emit_json({"version": result.version, "previous": result.previous, "tag": result.git_tag,
                   "changes": result.changes.as_dict()})
    elif result.version is None:
        say(f"nothing to release: corpus is at {result.previous}")
    else:
        say(f"released {result.version}" + (f" (tagged {result.git_tag})" if result.git_tag else ""))
        click.echo(result.changelog_entry.rstrip())


def measured_agreement(corpus) -> dict:
    """Headline agreement for the manifest, when two annotators labelled a shared document."""
    try:
        return {"agreement": agreement_summary(agreement(corpus.documents()))}
    except SpanbankError:
        return {}


@click.command("release")
@corpus_option
@schema_option
@click.option("--bump", type=click.Choice(release_mod.BUMPS), default="auto", show_default=True)
@click.option("--name", default=None, help="Corpus name recorded in the manifest (default: kept, or the folder name).")
@click.option("--no-git", is_flag=True, help="Do not commit and tag in git.")
@json_option
@handle_errors
def release(corpus_path, schema_path, bump, name, no_git, as_json):
    """Version the corpus: manifest, CHANGELOG.md entry and git tag corpus-vX.Y.Z.

    \b
    Example:
      spanbank release --bump auto
    auto = major when labels are removed or renamed, minor when documents or labels are added,
    patch for annotation corrections.  Refuses to release a corpus that does not validate.
    """
    release_corpus(corpus_path, load_schema(schema_path), bump, name, not no_git, as_json)


def register(main: click.Group) -> None:
    main.add_command(release)
