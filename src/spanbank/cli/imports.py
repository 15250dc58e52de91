"""``spanbank import``: other tools' annotations (the format registry's importers) or a built dataset into the corpus.

The command composes the stages: a format reader (or the dataset read-back of ``spanbank.publish``)
yields imported documents, the validator's checks filter them, ingest's segmenter gives new brat
documents their boundaries, and the merged stream is written here, under the corpus lock.
"""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path
from typing import Iterable, Iterator

import click

from .. import formats, ingest
from ..errors import InputError
from ..model import GOLD, utc_now
from ..schema import load_schema
from ..store import Corpus, open_corpus
from .common import creates_corpus, corpus_option, emit_json, handle_errors, json_option, progress_bar, say, schema_option

DATASET = "hf"  # a dataset built by `spanbank build` (read back by spanbank.publish, not by a format module)
IMPORT_CHOICES = tuple(sorted((*formats.IMPORT_FORMATS, DATASET)))


def reader_options(func):
    """One click option per format reader option (declared in the format modules)."""
    for key, (opt, fmts) in sorted(formats.reader_options().items(), reverse=True):
        kind = click.Choice(opt.choices) if opt.choices else opt.type
        func = click.option(f"--{opt.name}", key, type=kind, multiple=opt.multiple, default=None,
                            help=f"[{', '.join(fmts)}] {opt.help}")(func)
    return func


def dataset_items(paths: Iterable[str | Path]) -> Iterator[formats.Imported]:
    """The documents of built datasets (folders or Hub ids) as segmented imported items, published sets kept."""
    from ..publish.readback import documents_from_dataset  # loads `datasets` only for this format

    for path in paths:
        try:
            docs = documents_from_dataset(path)
            first = next(docs, None)
        except Exception as exc:  # datasets raises its own (not found, offline, bad layout): name the input
            raise InputError(f"cannot load the dataset {path} ({type(exc).__name__}: {exc})", path=str(path),
                             hint="give a folder written by `spanbank build` or a Hub id you can reach") from None
        for doc in itertools.chain([first], docs) if first is not None else ():
            yield formats.Imported(doc, f"{path} (document {doc.id})", segmented=True)


def write_staged(corpus: Corpus, items: Iterable[formats.Imported], report: formats.ImportReport, progress) -> int:
    """Imported segmented documents merged into ``corpus`` in bounded memory (a dataset can be as large as a corpus).

    They are written as a sorted corpus beside ``corpus`` first (the store spills to disk and sorts
    ids only), then merge-joined with it by id.  The caller holds the lock.
    """
    corpus.path.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=corpus.path, prefix=".import-") as tmp:
        staged = open_corpus(Path(tmp))
        staged.write(formats.staged_documents(items, report))
        existing = corpus.documents() if corpus.exists() else iter(())
        return corpus.write(formats.merge_sorted(existing, staged.documents(), report), progress)


@click.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(IMPORT_CHOICES), required=True,
              help="Input format (hf: a dataset built by `spanbank build`, a local folder or a Hub id).")
@click.option("--map-file", "--label-map", "label_map", metavar="FILE|NAME", default=None,
              help="YAML {entities: {...}, events: {...}, roles: {EVENT_TYPE: {...}}, attribution: {...}} "
                   "mapping labels onto the schema (an empty value drops the label); a file, or the name of a "
                   f"shipped map ({', '.join(formats.shipped_label_maps())}).")
@reader_options
@click.option("--keep-invalid", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="REJECTS.jsonl",
              help="Import what is valid; write each document that does not read or validate (with its problems, "
                   "file:line) to this JSONL file instead of failing.")
@click.option("--annotator", default=None, help="Credit this human annotator (provenance kind human); default 'import'.")
@click.option("--set", "set_name", default=None,
              help="Annotation set to fill (replaced per document); default gold.  hf keeps the published set names.")
@schema_option
@corpus_option
@json_option
@handle_errors
@creates_corpus
def import_cmd(paths, fmt, label_map, keep_invalid, annotator, set_name, schema_path, corpus_path, as_json, **reader):
    """Import brat standoff, CoNLL/IOB, CoNLL-U or a built Hugging Face dataset into the corpus.

    \b
    Example:
      spanbank import --format brat corpus/gold/ --annotator seed-annotator
      spanbank import --format brat ../shared/eval/gum-news-brat --label-map gum --corpus /tmp/gum
      spanbank import --format brat ann/ --text-dir txt/ --annotator-from-name '_(\\w+)$' --drop-label Discard
      spanbank import --format conll train.conll --tag-column 4 --group-by doc-id-prefix --set gold
      spanbank import --format conllu gum.conllu --tag-column MISC:NER --keep-invalid rejects.jsonl
      spanbank import --format hf dist/hf --corpus /tmp/roundtrip
    A document whose normalized text is already in the corpus gets the set attached; others are added.
    A dataset (hf) brings each document's published set (gold or silver) with its provenance.
    """
    dataset = fmt == DATASET
    if dataset and (label_map or annotator or set_name):
        raise InputError("--label-map, --annotator and --set apply to brat and conll; a dataset keeps its own labels, "
                         "provenance and set names", value=fmt, hint="drop those options for --format hf")
    missing = [p for p in paths if not p.exists() and (not dataset or p.is_absolute() or str(p).count("/") != 1)]
    if missing:
        raise InputError("no such file or folder", path=str(missing[0]),
                         hint="check the path" + (" (or give a Hub dataset id ORG/NAME)" if dataset else ""))
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
        read = dataset_items(paths) if dataset else formats.read_paths(fmt, paths, options, report)
        items = formats.checked(read, schema, report if keep_invalid else None)
        if dataset:
            write_staged(corpus, items, report, advance)
            from ..publish.project import restore_project  # the publish stack loads only for this format

            restored = [restore_project(path, corpus) for path in paths]  # its schema and history files
        else:
            corpus.write(formats.import_documents(corpus.documents(), list(items), report, advance,
                                                  segment=ingest.segment_documents))
        if keep_invalid is not None:
            rejects = formats.write_rejects(report.rejected, keep_invalid)
    if as_json:
        emit_json({**report.as_dict(), **({"project": [r.as_dict() for r in restored]} if dataset else {})})
        return
    _say_report(report, corpus, paths, restored, rejects, "published sets" if dataset else f"set {set_name!r}")


def _say_report(report: formats.ImportReport, corpus: Corpus, paths, restored, rejects, sets: str) -> None:
    read = len(report.attached) + len(report.added)
    say(f"{read} document(s) read: {len(report.attached)} attached to existing documents, "
        f"{len(report.added)} added to {corpus.path}; {sets}: {report.spans} spans, {report.events} events, "
        f"{report.attributions} attributions")
    for path, result in zip(paths, restored):
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
    main.add_command(import_cmd)
