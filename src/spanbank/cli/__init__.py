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


# Registration: one line per command module (keep alphabetical within each block).
from . import agreement  # noqa: E402
from . import annotate  # noqa: E402
from . import core  # noqa: E402
from . import doccano  # noqa: E402
from . import evaluate  # noqa: E402
from . import export  # noqa: E402
from . import publish  # noqa: E402
from . import run  # noqa: E402
from . import train  # noqa: E402

agreement.register(main)
annotate.register(main)
core.register(main)
doccano.register(main)
evaluate.register(main)
export.register(main)
publish.register(main)
run.register(main)
train.register(main)
