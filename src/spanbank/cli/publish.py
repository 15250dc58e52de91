"""``spanbank publish``: upload the built dataset folder to the Hub and tag the release."""

from __future__ import annotations

import click

from ..schema import load_schema
from ..store import open_corpus
from .build import out_option
from .common import corpus_option, emit_json, handle_errors, json_option, say, schema_option


@click.command("publish")
@corpus_option
@out_option
@schema_option
@click.option("--repo-id", required=True, help="Hub dataset repository, ORG/NAME.")
@click.option("--private", is_flag=True, help="Create the repository as private (an existing one keeps its visibility).")
@click.option("--dry-run", is_flag=True, help="Run every check and list the Hub operations without doing them.")
@json_option
@handle_errors
def publish(corpus_path, out, schema_path, repo_id, private, dry_run, as_json):
    """Upload the built folder to the Hub as release vX.Y.Z and tag the commit.

    \b
    Example:
      spanbank publish --repo-id my-org/news-spans --dry-run
      HF_TOKEN=... spanbank publish --repo-id my-org/news-spans
    Refuses when validation fails, the corpus differs from its last release, or the folder
    was built from another version.  The repo id and version are written into the card's
    snippets first (also with --dry-run, which leaves the exact folder it would upload).  The token comes from HF_TOKEN or `hf auth login`.
    """
    from .. import publish as publish_mod

    corpus = open_corpus(corpus_path)
    result = publish_mod.publish(corpus, load_schema(schema_path), out, repo_id, private=private, dry_run=dry_run)
    if as_json:
        emit_json(result.as_dict())
        return
    say(("dry run: would publish " if dry_run else "published ") + f"{repo_id} {result.tag} (token: {result.token_source})")
    for i, op in enumerate(result.operations(), start=1):
        click.echo(f"{i}. {op}")


def register(main: click.Group) -> None:
    main.add_command(publish)
