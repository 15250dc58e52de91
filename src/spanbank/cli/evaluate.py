"""Evaluation and import commands: ``spanbank evaluate`` and ``spanbank import``."""

from __future__ import annotations

from pathlib import Path

import click

from .. import evaluate as evaluate_mod
from .. import formats
from ..errors import InputError
from ..model import GOLD, LAYERS, utc_now
from ..schema import load_schema
from ..store import open_corpus
from .common import creates_corpus, corpus_option, emit_json, handle_errors, json_option, progress_bar, say


def _label_pairs(values: tuple[str, ...]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for value in values:
        old, sep, new = value.partition("=")
        if not sep or not old:
            raise InputError(f"--map {value!r} is not OLD=NEW", value=value, hint="e.g. --map GPE=LOC (NEW empty drops OLD)")
        out[old] = new or None
    return out


@click.command("evaluate")
@click.option("--corpus", "corpus_path", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="One corpus holding both sets (same as --gold C --pred C).")
@click.option("--gold", "gold_path", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Corpus holding the gold set  [default: corpus].")
@click.option("--pred", "pred_path", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Corpus holding the predicted set (often the same corpus)  [default: the gold corpus].")
@click.option("--gold-set", default="gold", show_default=True, help="Annotation set taken as the truth.")
@click.option("--pred-set", default="silver", show_default=True, help="Annotation set scored.")
@click.option("--layer", "layers", multiple=True, type=click.Choice(LAYERS), help="Layer(s) to score (default: all).")
@click.option("--map", "maps", multiple=True, metavar="OLD=NEW",
              help="Rename a label on both sides before matching (repeatable; NEW empty drops OLD).")
@click.option("--partial-gold", is_flag=True,
              help="The gold is not exhaustive: score a layer only on documents whose gold set has annotations in it "
                   "(default: every gold-corpus document counts; predictions where gold has none are false positives).")
@click.option("--no-labels", is_flag=True, help="Only the ALL rows in the table.")
@json_option
@handle_errors
def evaluate_cmd(corpus_path, gold_path, pred_path, gold_set, pred_set, layers, maps, partial_gold, no_labels, as_json):
    """Precision / recall / F1 of one annotation set against another, exact and overlap matching,
    and an error breakdown per label (correct / wrong type / wrong boundary / wrong both / missed / spurious).

    \b
    Example:
      spanbank evaluate --corpus corpus --gold-set gold --pred-set silver
      spanbank evaluate --gold corpus --pred other --layer entities --map GPE=LOC --json
      spanbank evaluate --corpus corpus --partial-gold   # gold marks only some documents / layers
    """
    if corpus_path is not None and (gold_path is not None or pred_path is not None):
        raise click.UsageError("give either --corpus (one corpus holding both sets) or --gold/--pred, not both")
    gold_path = gold_path or corpus_path or Path("corpus")
    pred_path = pred_path or corpus_path or gold_path
    gold_corpus, pred_corpus = open_corpus(gold_path), open_corpus(pred_path)
    for c in (gold_corpus, pred_corpus):
        if not c.exists():
            raise InputError("no corpus here", path=str(c.path), hint="run `spanbank ingest` or give --corpus/--gold/--pred")
    with progress_bar("evaluate") as advance:
        result = evaluate_mod.evaluate(gold_corpus.documents(), pred_corpus.documents(), layers or LAYERS,
                                       gold_set, pred_set, _label_pairs(maps), advance, partial_gold=partial_gold)
    if as_json:
        emit_json(result)
    else:
        click.echo(evaluate_mod.render_table(result, labels=not no_labels))


def reader_options(func):
    """One click option per format reader option (declared in the format modules)."""
    for key, (opt, fmts) in sorted(formats.reader_options().items(), reverse=True):
        kind = click.Choice(opt.choices) if opt.choices else opt.type
        func = click.option(f"--{opt.name}", key, type=kind, multiple=opt.multiple, default=None,
                            help=f"[{', '.join(fmts)}] {opt.help}")(func)
    return func


@click.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(sorted(formats.FORMATS)), required=True,
              help="Input format (hf: a dataset built by `spanbank build`, a local folder or a Hub id).")
@click.option("--map-file", "--label-map", "label_map", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              default=None, help="YAML {entities: {...}, events: {...}, roles: {EVENT_TYPE: {...}}, attribution: {...}} "
                                 "mapping labels onto the schema (an empty value drops the label).")
@reader_options
@click.option("--keep-invalid", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="REJECTS.jsonl",
              help="Import what is valid; write each document that does not read or validate (with its problems, "
                   "file:line) to this JSONL file instead of failing.")
@click.option("--annotator", default=None, help="Credit this human annotator (provenance kind human); default 'import'.")
@click.option("--set", "set_name", default=None,
              help="Annotation set to fill (replaced per document); default gold.  hf keeps the published set names.")
@click.option("--schema", "schema_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Label schema YAML (default: schema/spanbank.yaml).")
@corpus_option
@json_option
@handle_errors
@creates_corpus
def import_cmd(paths, fmt, label_map, keep_invalid, annotator, set_name, schema_path, corpus_path, as_json, **reader):
    """Import brat standoff, CoNLL/IOB, CoNLL-U or a built Hugging Face dataset into the corpus.

    \b
    Example:
      spanbank import --format brat corpus/gold/ --annotator seed-annotator
      spanbank import --format brat ../shared/eval/gum-news-brat --label-map schema/label-maps/gum.yaml --corpus /tmp/gum
      spanbank import --format brat ann/ --text-dir txt/ --annotator-from-name '_(\\w+)$' --drop-label Discard
      spanbank import --format conll train.conll --tag-column 4 --group-by doc-id-prefix --set gold
      spanbank import --format conllu gum.conllu --tag-column MISC:NER --keep-invalid rejects.jsonl
      spanbank import --format hf dist/hf --corpus /tmp/roundtrip
    A document whose normalized text is already in the corpus gets the set attached; others are added.
    A dataset (hf) brings each document's published set (gold or silver) with its provenance.
    """
    if fmt == "hf" and (label_map or annotator or set_name):
        raise InputError("--label-map, --annotator and --set apply to brat and conll; a dataset keeps its own labels, "
                         "provenance and set names", value=fmt, hint="drop those options for --format hf")
    missing = [p for p in paths if not p.exists() and (fmt != "hf" or p.is_absolute() or str(p).count("/") != 1)]
    if missing:
        raise InputError("no such file or folder", path=str(missing[0]),
                         hint="check the path" + (" (or give a Hub dataset id ORG/NAME)" if fmt == "hf" else ""))
    known = formats.reader_options()
    foreign = [k for k, v in reader.items() if v not in (None, ()) and fmt not in known[k][1]]
    if foreign:
        opt, fmts = known[foreign[0]]
        raise click.UsageError(f"--{opt.name} applies to --format {'/'.join(fmts)}, not {fmt}")
    set_name = set_name or GOLD
    schema = load_schema(schema_path)
    options = formats.ImportOptions(
        schema=schema, label_map=formats.load_label_map(label_map, schema), set_name=set_name,
        annotator=annotator, time=utc_now(), format=fmt, reader=reader, keep_invalid=keep_invalid is not None)
    rejects = None
    corpus = open_corpus(corpus_path)
    report = formats.ImportReport()
    restored = []
    with corpus.lock(), progress_bar("import") as advance:
        if fmt == "hf":  # a dataset can be as large as a corpus: staged on disk, merged by id
            formats.import_staged(corpus, formats.checked(formats.read_paths(fmt, paths, options, report), options.schema,
                                                          report if keep_invalid else None), report, advance)
            from ..publish.project import restore_project  # the publish stack loads only for this format

            restored = [restore_project(path, corpus) for path in paths]  # its schema and history files
        else:
            imported = list(formats.checked(formats.read_paths(fmt, paths, options, report), options.schema,
                                            report if keep_invalid else None))
            corpus.write(formats.import_documents(corpus.documents(), imported, report, advance))
        if keep_invalid is not None:
            rejects = formats.write_rejects(report.rejected, keep_invalid)
    if as_json:
        emit_json({**report.as_dict(), **({"project": [r.as_dict() for r in restored]} if fmt == "hf" else {})})
        return
    sets = "published sets" if fmt == "hf" else f"set {set_name!r}"
    read = len(report.attached) + len(report.added)
    say(f"{read} document(s) read: {len(report.attached)} attached to existing documents, "
        f"{len(report.added)} added to {corpus.path}; {sets}: {report.spans} spans, {report.events} events, "
        f"{report.attributions} attributions")
    for path, result in zip(paths, restored) if fmt == "hf" else ():
        say(f"{path}: {result.summary()}")
    if rejects is not None:
        say(f"{len(report.rejected)} document(s) set aside in {rejects} (not imported):")
        for record in report.rejected[:20]:
            say(f"  {record['problems'][0]}" + (f" (+{len(record['problems']) - 1} more)" if len(record['problems']) > 1 else ""))
    for message in report.dropped[:20]:
        say(f"dropped: {message}")
    if len(report.dropped) > 20:
        say(f"... and {len(report.dropped) - 20} more dropped (see --json)")


def register(main: click.Group) -> None:
    main.add_command(evaluate_cmd)
    main.add_command(import_cmd)
