"""``spanbank diff``: what changed between two corpus versions."""

from __future__ import annotations

import click

from .. import release as release_mod
from .common import emit_json, handle_errors, json_option


@click.command("diff")
@click.argument("old")
@click.argument("new", default="corpus")
@json_option
@handle_errors
def diff(old, new, as_json):
    """What changed between two corpus versions (folders or git revisions).

    \b
    Example:
      spanbank diff corpus-v1.0.0 corpus/
      spanbank diff HEAD~1:corpus corpus/
    """
    with release_mod.corpus_at(old) as a, release_mod.corpus_at(new) as b:
        changes = release_mod.diff(a.documents(), b.documents())
    if as_json:
        emit_json(changes.as_dict())
    else:
        click.echo("\n".join(changes.summary_lines()) or "no changes")


def register(main: click.Group) -> None:
    main.add_command(diff)
