"""``spanbank build``: the Hugging Face dataset folder (card + parquet configs) from the corpus."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import SpanbankError
from ..schema import load_schema
from ..store import open_corpus
from ..validate import require_valid
from .common import console, corpus_option, emit_json, handle_errors, json_option, progress_bar, say, schema_option

DEFAULT_RATIOS = "0.8,0.1,0.1"
out_option = click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=Path("dist/hf"),
                          show_default=True, help="Built dataset folder (Hub layout; replaced on every build).")


@click.command("build")
@corpus_option
@out_option
@schema_option
@click.option("--ratios", default=DEFAULT_RATIOS, show_default=True,
              help="train,validation,test shares; a document's split is a hash of its id.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Dataset configuration YAML: license, name, citation, ... (default: <corpus>/dataset.yaml).")
@click.option("--license", "license_", default=None, help="Dataset license id for the card (overrides the configuration).")
@click.option("--pretty-name", default=None, help="Dataset name shown on the Hub (overrides the configuration).")
@json_option
@handle_errors
def build(corpus_path, out, schema_path, ratios, config_path, license_, pretty_name, as_json):
    """Build the Hub-layout dataset folder: README.md card + data/<config>/<split>-*.parquet.

    \b
    Example:
      spanbank build --corpus corpus/ --out dist/hf --ratios 0.8,0.1,0.1
    Configs: documents (default), ner, events, attribution.  Load it with
    datasets.load_dataset("dist/hf", "ner").  The card's license (`other` needs license_name and
    license_link), name, tags and citation come from <corpus>/dataset.yaml; project/ carries the
    schema, guidelines, changelog, manifest and NOTICE.  Refuses (writing
    nothing) when the corpus does not validate.
    """
    build_dataset(corpus_path, out, schema_path, ratios, config_path, license_, pretty_name, as_json)


def build_dataset(corpus_path: Path, out: Path, schema_path: Path | None = None, ratios: str = DEFAULT_RATIOS,
                  config_path: Path | None = None, license_: str | None = None, pretty_name: str | None = None,
                  as_json: bool = False) -> None:
    """What ``build`` does (``spanbank run`` calls it too): validate, build, report."""
    from .. import publish as publish_mod  # datasets / pyarrow load only when building

    corpus = open_corpus(corpus_path)
    schema = load_schema(schema_path)  # the build records the schema file it was given
    try:
        split_ratios = publish_mod.parse_ratios(ratios)
    except SpanbankError as exc:  # a malformed option value is a usage error (exit 2)
        raise click.BadParameter(str(exc), param_hint="--ratios") from None
    total = _lines(corpus.documents_path) if console.is_terminal and corpus.exists() else None
    stamp = corpus.stamp()  # the build must read the files that were validated
    with progress_bar("validate", total=total) as advance:
        require_valid(corpus, schema, advance)
    with progress_bar("build", total=total) as advance:
        report = publish_mod.build(corpus, schema, out, split_ratios, advance,
                                   card={"license": license_, "pretty_name": pretty_name}, expect=stamp,
                                   config_file=config_path, schema_file=schema_path)
    if as_json:
        emit_json(report.as_dict())
        return
    docs = report.num_examples["documents"]
    say(f"built {out}: {report.documents} documents (" + ", ".join(f"{s} {docs[s]}" for s in publish_mod.SPLITS)
        + f") in {report.seconds:.1f} s")
    for config in publish_mod.CONFIGS[1:]:
        say(f"  {config}: " + ", ".join(f"{s} {report.num_examples[config][s]}" for s in publish_mod.SPLITS))
    if report.dropped_spans:
        say(f"warning: {report.dropped_spans} trigger/attribution span(s) belong to no event or attribution "
            "and are not published (run `spanbank validate`)")
    if report.ner_conflicts:
        say(f"note: {report.ner_conflicts} overlapping span(s) cannot be IOB2-tagged (kept in the documents config)")


def _lines(path: Path) -> int:
    """Documents in the corpus for the progress bar (one per line; cheaper than parsing them)."""
    with path.open("rb") as fh:
        return sum(1 for line in fh if line.strip())


def register(main: click.Group) -> None:
    main.add_command(build)
