"""``spanbank schema check | guidelines``: validate the label schema; render annotation guidelines."""

from __future__ import annotations

from pathlib import Path

import click

from ..schema import load_schema, render_guidelines
from .common import handle_errors, say


@click.group("schema")
def schema():
    """Check the label schema or render annotation guidelines from it."""


@schema.command("check")
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
@handle_errors
def schema_check(path):
    """Validate a schema file (default: schema/spanbank.yaml).

    \b
    Example:
      spanbank schema check schema/spanbank.yaml
    """
    s = load_schema(path)
    click.echo(f"{s.name} {s.version}: {len(s.entity_types)} entity types, {len(s.event_types)} event types, "
               f"{len(s.attribution_labels)} attribution labels; sha256 {s.sha256}")


@schema.command("guidelines")
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write Markdown here instead of stdout.")
@handle_errors
def schema_guidelines(path, out):
    """Render annotation guidelines (Markdown) from the schema.

    \b
    Example:
      spanbank schema guidelines --out GUIDELINES.md
    """
    text = render_guidelines(load_schema(path))
    if out:
        out.write_text(text, encoding="utf-8")
        say(f"wrote {out}")
    else:
        click.echo(text)


def register(main: click.Group) -> None:
    main.add_command(schema)
