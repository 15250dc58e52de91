"""The ``spanbank`` command: a thin shell over the library.  Each area registers its commands below."""

from __future__ import annotations

import click

from .. import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="spanbank")
def main() -> None:
    """spanbank: news articles -> versioned span-annotated corpus <-> Doccano -> Hugging Face dataset.

    \b
    Quick start:
      spanbank ingest seeds/                 # add articles to corpus/
      spanbank validate --allow-unreleased   # check every invariant (edits since the last release expected)
      spanbank release --bump auto           # version, manifest, changelog (a git tag inside git)
    """


# Registration: one module per command (group), named after it; one line each (alphabetical).
from . import (adjudicate, agreement, annotate, build, diff, doccano, evaluate, export, imports, ingest,  # noqa: E402
               publish, release, run, schema, show, stats, train, validate)

for _module in (adjudicate, agreement, annotate, build, diff, doccano, evaluate, export, imports, ingest, publish,
                release, run, schema, show, stats, train, validate):
    _module.register(main)
