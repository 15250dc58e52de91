"""Build the Hub-layout folder: ``README.md`` + ``data/<config>/<split>-NNNNN-of-NNNNN.parquet`` + ``project/``.

The corpus is read once, as Arrow, in aligned blocks of documents (:mod:`.read`); each block
becomes the configs' tables column by column (:mod:`.docs`, :mod:`.layers`, :mod:`.sentences`),
with no per-row Python (``ner`` is a view of the ``events`` files, :data:`~.features.VIEWS`), and is
written through the shard writers of :mod:`.parquet` (per config, split and first release), each
with the features' arrow schema (so the ``huggingface`` feature metadata is embedded in
every shard).  Memory stays flat: one block of documents (``block_size`` bytes of JSONL) at a time,
plus the previous block's tables while a background thread writes them.  The folder is built beside
``out`` and renamed into place at the end, so a failed build leaves the previous one intact.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np

import pyarrow as pa

from ..errors import PublishError
from ..model import LabelSchema
from ..atomic import umask
from ..store import Corpus, sha256_file
from .arrow import system_allocator
from .docs import Docs
from .features import CONFIGS, SPLITS, VIEWS, dataset_features
from .layers import Layers, Names
from .parquet import DEFAULT_SHARD_BYTES, ROW_GROUP_DOCS, Writers
from .project import LICENSE, PROJECT, dataset_config, write_project
from .read import DEFAULT_BLOCK, Block, blocks
from .sentences import Sentences, events_table

DEFAULT_RATIOS = (0.8, 0.1, 0.1)


def parse_ratios(text: str) -> tuple[float, float, float]:
    """``"0.8,0.1,0.1"`` -> (train, validation, test); they must be >= 0 and sum to 1."""
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise PublishError(f"split ratios {text!r} are not numbers", value=text, hint="write e.g. 0.8,0.1,0.1") from None
    return check_ratios(values)


def check_ratios(values: tuple[float, ...]) -> tuple[float, float, float]:
    if len(values) != 3 or any(v < 0 for v in values) or abs(sum(values) - 1.0) > 1e-6:
        raise PublishError(f"split ratios {values!r} must be three non-negative numbers summing to 1 "
                           "(train, validation, test)", value=values, hint="e.g. 0.8,0.1,0.1")
    return values  # type: ignore[return-value]


def split_of(doc_id: str, ratios: tuple[float, float, float] = DEFAULT_RATIOS) -> str:
    """The split of a document: a function of its id alone, so it never moves as documents are added.

    The first 8 bytes of the id's sha256, big-endian, over 2**64, against the cumulative ratios.
    """
    return SPLITS[int(split_indices([doc_id], ratios)[0])]


def split_indices(doc_ids: Iterable[str], ratios: tuple[float, float, float] = DEFAULT_RATIOS) -> np.ndarray:
    """:func:`split_of` of many ids at once, as indices into ``SPLITS`` (one hash each, the rest in numpy)."""
    return _split_of_hashes(id_hashes(doc_ids), ratios)


def id_hashes(doc_ids: Iterable[str]) -> np.ndarray:
    """The first 8 bytes of each id's sha256, big-endian (uint64)."""
    sha256 = hashlib.sha256
    return np.frombuffer(b"".join([sha256(i.encode("utf-8")).digest()[:8] for i in doc_ids]), ">u8")


def _split_of_hashes(heads: np.ndarray, ratios: tuple[float, float, float]) -> np.ndarray:
    u = heads.astype(np.float64) / 2.0**64  # the same correctly rounded value as int / 2**64
    return (u >= ratios[0]).astype(np.int64) + (u >= ratios[0] + ratios[1])


@dataclass
class BuildReport:
    """What a build wrote; the card and the CLI summary are made from it."""

    out: Path
    ratios: tuple[float, float, float]
    num_examples: dict[str, dict[str, int]] = field(default_factory=dict)  # config -> split -> rows
    num_bytes: dict[str, dict[str, int]] = field(default_factory=dict)
    shards: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # config -> split -> relative paths
    label_counts: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)  # layer -> label -> split -> n
    sets: Counter = field(default_factory=Counter)  # published set name -> documents
    ner_conflicts: int = 0
    dropped_spans: int = 0
    corpus_files: dict[str, str] = field(default_factory=dict)  # corpus file name -> sha256 at build time
    example: dict[str, Any] | None = None
    seconds: float = 0.0
    input_bytes: int = 0

    @property
    def documents(self) -> int:
        return sum(self.num_examples.get("documents", {}).values())

    def splits(self, config: str) -> list[str]:
        """The splits of ``config`` that have rows (only those are published)."""
        return [s for s in SPLITS if self.num_examples.get(config, {}).get(s)]

    def configs(self) -> list[str]:
        """The configs that have rows (only those are published)."""
        return [c for c in CONFIGS if self.splits(c)]

    def as_dict(self) -> dict[str, Any]:
        return {"out": str(self.out), "ratios": list(self.ratios), "num_examples": self.num_examples,
                "num_bytes": self.num_bytes, "shards": self.shards, "label_counts": self.label_counts,
                "sets": dict(self.sets), "ner_conflicts": self.ner_conflicts, "dropped_spans": self.dropped_spans,
                "seconds": round(self.seconds, 3), "input_bytes": self.input_bytes}


def build(corpus: Corpus, schema: LabelSchema, out: str | Path, ratios: tuple[float, float, float] = DEFAULT_RATIOS,
          progress: Callable[[int], None] | None = None, *, block_size: int = DEFAULT_BLOCK,
          shard_bytes: int = DEFAULT_SHARD_BYTES, card: dict[str, Any] | None = None,
          expect: tuple | None = None, config_file: str | Path | None = None,
          schema_file: str | Path | None = None) -> BuildReport:
    """Write the Hub-layout dataset folder for ``corpus`` to ``out`` (replacing it) and return the report.

    ``progress(n)`` is called with the number of documents of each block (``block_size`` bytes of
    documents.jsonl).  The card's license, name, citation, ... come from the dataset configuration
    (``config_file``, default ``<corpus>/dataset.yaml``), overridden by ``card``'s non-None values;
    ``schema_file`` is the YAML ``schema`` was loaded from (shipped in ``project/``).  ``expect``: the
    corpus's :meth:`~spanbank.store.Corpus.stamp` when it was validated; a corpus written since then
    fails the build before ``out`` is replaced.
    """
    from .card import write_card  # the card needs the finished report

    if not corpus.exists() or corpus.documents_path.stat().st_size == 0:
        raise PublishError("no documents to publish", path=str(corpus.documents_path), hint="run `spanbank ingest` first")
    config = dataset_config(corpus, config_file, card)  # refuses a card without a usable license before any work
    started = time.perf_counter()
    out = Path(out)
    _check_out(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    report = BuildReport(out=out, ratios=check_ratios(tuple(ratios)))
    files = [p for p in (corpus.documents_path, corpus.annotations_path) if p.exists()]
    report.input_bytes = sum(p.stat().st_size for p in files)
    features = dataset_features(schema)
    _remove_stale_builds(out)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.build-{os.getpid()}-"))
    tmp.chmod(0o777 & ~umask())  # mkdtemp makes it 0700; the finished folder gets a folder's usual mode
    try:
        with system_allocator(), ThreadPoolExecutor(max_workers=2, thread_name_prefix="spanbank-side") as side:
            # alongside the stream (hashlib releases the GIL; the project files are written while the first block is read)
            project_files = side.submit(write_project, tmp, corpus, schema, config, schema_file)
            hashes = side.map(sha256_file, files)
            schemas = {c: f.arrow_schema for c, f in features.items()}
            writers = Writers(tmp, schemas, shard_bytes, {v: (s, schemas[v].names) for v, s in VIEWS.items()})
            try:
                names = Names(schema.entity_names(), schema.event_names(), schema.role_names())
                _stream(corpus, _until_failed(blocks(corpus, block_size), project_files), names, schemas, writers,
                        report, progress)
            except BaseException:
                writers.abort()
                raise
            writers.close(report)
            report.corpus_files = {p.name: h for p, h in zip(files, hashes)}
            project = project_files.result()
        report.seconds = time.perf_counter() - started
        write_card(tmp, schema, features, report, corpus, config, project)
        if expect is not None and corpus.stamp() != expect:
            raise PublishError("the corpus was written by another process during the build (nothing was replaced)",
                               path=str(corpus.path), hint="build again")
        _replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    report.seconds = time.perf_counter() - started
    return report


def _stream(corpus: Corpus, source: Iterator[Block], names: Names, schemas: dict[str, pa.Schema], writers: Writers,
            report: BuildReport, progress: Callable[[int], None] | None) -> None:
    counts: Counter = Counter()  # (split, layer, label) -> n
    best: tuple[int, dict[str, Any]] | None = None  # (text length, documents row) of the card's example
    for block in source:
        heads = id_hashes(block.docs.column("id").to_pylist())
        split = _split_of_hashes(heads, report.ratios)
        boundary = heads % ROW_GROUP_DOCS == 0  # content-defined row groups (the low bits; the split uses the high)
        release, releases = _codes(block.docs.column("first_release").to_pylist())
        group = split * len(releases) + release  # (split, first release): the shards a document's rows go to
        groups = [(s, r) for s in SPLITS for r in releases]
        order = np.argsort(group, kind="stable")  # documents grouped, in file order within each group
        split, group, boundary = split[order], group[order], boundary[order]
        docs = Docs(block, schemas["documents"], corpus.documents_path, order)
        layers = Layers(docs, schemas["documents"], names, corpus.annotations_path)
        table = docs.table(schemas["documents"], layers.chosen, layers.columns)
        writers.add("documents", table, group, groups, np.arange(docs.n), boundary)
        sentences = Sentences(docs)
        events, conflicts = events_table(sentences, layers, schemas["events"])
        writers.add("events", events, group[sentences.doc], groups, sentences.doc, boundary)  # and its view ner
        writers.add("attribution", layers.attribution_table(schemas["attribution"]), group[layers.attributions.doc],
                    groups, layers.attributions.doc, boundary)
        counts.update(layers.label_counts(split, SPLITS))
        report.sets.update(Counter(s or "none" for s in layers.chosen.to_pylist()))
        report.ner_conflicts += conflicts
        report.dropped_spans += layers.dropped_spans
        best = _example(best, table, docs, layers)
        writers.flush()
        if progress:
            progress(docs.n)
    report.example = best[1] if best else None
    report.label_counts = {}
    for (split_name, layer, label), n in sorted(counts.items(), key=lambda kv: SPLITS.index(kv[0][0])):
        report.label_counts.setdefault(layer, {}).setdefault(label, {})[split_name] = n


def _codes(values: list[str | None]) -> tuple[np.ndarray, list[str | None]]:
    """Each value's index into the distinct values (in first-seen order), and those values."""
    index: dict[str | None, int] = {}
    codes = np.fromiter((index.setdefault(v, len(index)) for v in values), np.int64, len(values))
    return codes, list(index)


def _until_failed(items: Iterator[Block], side: Future) -> Iterator[Block]:
    """``items``, stopped by the side task's error as soon as it fails (a wrong schema file fails the build early)."""
    with closing(items):  # the reader's threads stop with the build
        for item in items:
            if side.done() and side.exception() is not None:
                raise side.exception()  # type: ignore[misc]
            yield item


def _example(best: tuple[int, dict[str, Any]] | None, table: pa.Table, docs: Docs,
             layers: Layers) -> tuple[int, dict[str, Any]] | None:
    """The shortest document with entities so far (the first one on ties), as ``load_dataset`` returns it."""
    length = np.where(np.bincount(layers.ents.doc, minlength=docs.n) > 0, docs.texts.length, np.iinfo(np.int64).max)
    i = int(np.lexsort((docs.original, length))[0]) if docs.n else 0  # ties: the first in file order
    if docs.n and length[i] < (best[0] if best else np.iinfo(np.int64).max):
        return int(length[i]), table.slice(i, 1).to_pylist()[0]
    return best


def _check_out(out: Path) -> None:
    """``out`` is replaced wholesale, so it must be absent, empty or a previous build (README.md + data/)."""
    if out.exists() and not out.is_dir():
        raise PublishError("output path is a file", path=str(out), hint="choose a folder, e.g. --out dist/hf")
    if out.is_dir():
        extra = sorted(p.name for p in out.iterdir() if p.name not in ("README.md", "data", ".gitattributes", PROJECT,
                                                                        LICENSE))
        if extra:
            raise PublishError(f"output folder holds files that are not a previous build: {', '.join(extra[:5])}",
                               path=str(out), hint="choose an empty or new folder (it is replaced on every build)")


def _remove_stale_builds(out: Path) -> None:
    """Remove the temp folders of builds of ``out`` whose process is gone (killed: nothing else removes them)."""
    for stale in out.parent.glob(f".{out.name}.build-*"):
        pid = stale.name[len(f".{out.name}.build-"):].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)) and stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _replace_dir(new: Path, out: Path) -> None:
    """Swap the finished folder into place; the previous build is removed only after the rename."""
    if out.exists():
        old = out.with_name(f".{out.name}.old-{time.time_ns()}")
        out.rename(old)
        new.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        new.rename(out)
