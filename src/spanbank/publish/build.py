"""Build the Hub-layout folder: ``README.md`` + ``data/<config>/<split>-NNNNN-of-NNNNN.parquet`` + ``project/``.

The corpus is read once, as Arrow, in aligned blocks of documents (:mod:`.read`); each block
becomes the four configs' tables column by column (:mod:`.docs`, :mod:`.layers`, :mod:`.sentences`),
with no per-row Python, and is written through one pyarrow ``ParquetWriter`` per (config, split)
whose schema is the features' arrow schema (so the ``huggingface`` feature metadata is embedded in
every shard).  Memory stays flat: one block of documents (``block_size`` bytes of JSONL) at a time,
plus the previous block's tables while a background thread writes them.  The folder is built beside
``out`` and renamed into place at the end, so a failed build leaves the previous one intact.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import PublishError
from ..model import LabelSchema
from ..store import Corpus, sha256_file, umask
from .docs import Docs
from .features import CONFIGS, SPLITS, dataset_features
from .layers import Layers, Names
from .project import LICENSE, PROJECT, dataset_config, write_project
from .read import DEFAULT_BLOCK, Block, blocks
from .sentences import Sentences, events_table, ner_table

DEFAULT_RATIOS = (0.8, 0.1, 0.1)
DEFAULT_SHARD_BYTES = 256 * 1024 * 1024
WRITE_THREADS = 3  # parquet encoding releases the GIL: the configs of a block are written in parallel


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
    sha256 = hashlib.sha256
    heads = b"".join([sha256(i.encode("utf-8")).digest()[:8] for i in doc_ids])
    u = np.frombuffer(heads, ">u8").astype(np.float64) / 2.0**64  # the same correctly rounded value as int / 2**64
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


PLAIN = {"id", "doc_id", "text", "title", "url", "context"}  # (nearly) unique strings: a dictionary would be dropped


NO_STATISTICS = {"text", "context"}  # long strings: min / max cost a full comparison pass and serve no reader
DELTA = {"start", "end"}  # offsets inside lists ascend (tokens, boundaries): delta-packed beats a dictionary
# What `datasets` turns on for Hub uploads (datasets.config.DEFAULT_CDC_OPTIONS): pages cut at content-defined
# boundaries, so a release that changes a few documents changes a few pages, which the Hub's chunk-level
# deduplication (Xet) then does not upload again; and the page index (column / offset indexes) for readers.
CDC_OPTIONS: dict[str, int] | bool = {"min_chunk_size": 256 * 1024, "max_chunk_size": 1024 * 1024, "norm_level": 0}


def writer_options(schema: pa.Schema) -> dict[str, Any]:
    """Snappy; statistics for the short top-level scalar columns only; no dictionary for (nearly) unique
    strings; offsets inside lists delta-packed; content-defined chunking and the page index (:data:`CDC_OPTIONS`).

    Statistics of nested list columns and long texts, and dictionary attempts on ids and texts cost a
    third of the write time and serve no reader of this dataset; delta packing of the ascending
    offsets is cheaper than a dictionary and makes the files smaller.
    """
    leaves: list[tuple[str, pa.DataType, bool]] = []  # (path, type, inside a list)

    def walk(type_: pa.DataType, path: str, listed: bool) -> None:
        if pa.types.is_struct(type_):
            for f in type_:
                walk(f.type, f"{path}.{f.name}", listed)
        elif pa.types.is_list(type_):
            walk(type_.value_type, f"{path}.list.element", True)
        else:
            leaves.append((path, type_, listed))

    for f in schema:
        walk(f.type, f.name, False)
    delta = [path for path, type_, listed in leaves
             if listed and pa.types.is_integer(type_) and path.rsplit(".", 1)[-1] in DELTA]
    return {"compression": "snappy", "use_content_defined_chunking": CDC_OPTIONS, "write_page_index": bool(CDC_OPTIONS),
            "write_statistics": [f.name for f in schema if not pa.types.is_nested(f.type) and f.name not in NO_STATISTICS],
            "use_dictionary": [path for path, _, _ in leaves if path.rsplit(".", 1)[-1] not in PLAIN and path not in delta],
            "column_encoding": {path: "DELTA_BINARY_PACKED" for path in delta}}


class _SplitWriter:
    """Parquet shards of one (config, split); names get their final ``-of-NNNNN`` at close."""

    def __init__(self, folder: Path, split: str, schema: pa.Schema, shard_bytes: int) -> None:
        self.folder, self.split, self.schema, self.shard_bytes = folder, split, schema, shard_bytes
        self.options = writer_options(schema)
        self.parts: list[Path] = []
        self.writer: pq.ParquetWriter | None = None
        self.shard_size = 0
        self.rows = 0
        self.nbytes = 0

    def write(self, table: pa.Table) -> None:
        if self.writer is None or self.shard_size >= self.shard_bytes:
            self._open()
        assert self.writer is not None
        self.writer.write_table(table)
        self.rows += table.num_rows
        self.nbytes += table.nbytes
        self.shard_size += table.nbytes

    def _close_shard(self) -> None:
        assert self.writer is not None
        if self.options["use_content_defined_chunking"]:  # as datasets records it
            self.writer.add_key_value_metadata({"content_defined_chunking": json.dumps(CDC_OPTIONS)})
        self.writer.close()

    def _open(self) -> None:
        if self.writer is not None:
            self._close_shard()
        path = self.folder / f".{self.split}-{len(self.parts):05d}.tmp.parquet"
        self.parts.append(path)
        self.writer = pq.ParquetWriter(path, self.schema, **self.options)
        self.shard_size = 0

    def close(self) -> list[str]:
        """Final shard names; an empty split gets no file (``load_dataset`` cannot read a 0-row split)."""
        if self.writer is None:
            return []
        self._close_shard()
        n = len(self.parts)
        names = []
        for i, part in enumerate(self.parts):
            name = f"{self.split}-{i:05d}-of-{n:05d}.parquet"
            part.rename(self.folder / name)
            names.append(name)
        return names


def _write_all(jobs: list[tuple[_SplitWriter, pa.Table]]) -> None:
    for writer, table in jobs:
        writer.write(table)


class _Writers:
    """One shard writer per (config, split); a block's table is split by its rows' document split.

    Writing runs on background threads, one task per config (pyarrow releases the GIL while
    encoding), overlapping the next block's computation; at most one block waits, so memory stays
    bounded.
    """

    def __init__(self, root: Path, schemas: dict[str, pa.Schema], shard_bytes: int) -> None:
        self.pool = ThreadPoolExecutor(max_workers=WRITE_THREADS, thread_name_prefix="spanbank-parquet")
        self.jobs: list[tuple[_SplitWriter, pa.Table]] = []
        self.pending: list[Future] = []
        self.writers: dict[tuple[str, str], _SplitWriter] = {}
        for config in CONFIGS:
            folder = root / "data" / config
            folder.mkdir(parents=True)
            for split in SPLITS:
                self.writers[config, split] = _SplitWriter(folder, split, schemas[config], shard_bytes)

    def add(self, config: str, table: pa.Table, split: np.ndarray) -> None:
        """Write ``table``'s rows; ``split[i]`` (non-decreasing) is the index in SPLITS of row ``i``."""
        bounds = np.searchsorted(split, np.arange(len(SPLITS) + 1), "left")
        for i, name in enumerate(SPLITS):
            if bounds[i + 1] > bounds[i]:
                self.jobs.append((self.writers[config, name], table.slice(bounds[i], bounds[i + 1] - bounds[i])))

    def flush(self) -> None:
        """Hand the block's tables to the writer thread (after the previous block is written)."""
        self.wait()
        jobs, self.jobs = self.jobs, []
        by_config: dict[str, list[tuple[_SplitWriter, pa.Table]]] = {}
        for writer, table in jobs:  # one task per config: a writer's tables stay in order, configs run in parallel
            by_config.setdefault(writer.folder.name, []).append((writer, table))
        self.pending = [self.pool.submit(_write_all, group) for group in by_config.values()]

    def wait(self) -> None:
        pending, self.pending = self.pending, []
        for future in pending:
            future.result()  # re-raises a write error here

    def abort(self) -> None:
        self.jobs = []
        self.pool.shutdown(wait=True, cancel_futures=True)

    def close(self, report: BuildReport) -> None:
        self.flush()
        self.wait()
        self.pool.shutdown()
        for (config, split), writer in self.writers.items():
            names = writer.close()
            report.shards.setdefault(config, {})[split] = [f"data/{config}/{n}" for n in names]
            report.num_examples.setdefault(config, {})[split] = writer.rows
            report.num_bytes.setdefault(config, {})[split] = writer.nbytes


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
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="spanbank-hash") as hasher:
            hashes = hasher.map(sha256_file, files)  # alongside the build (hashlib releases the GIL)
            schemas = {c: f.arrow_schema for c, f in features.items()}
            writers = _Writers(tmp, schemas, shard_bytes)
            try:
                _stream(corpus, blocks(corpus, block_size), Names(schema.entity_names(), schema.event_names(),
                                                                  schema.role_names()), schemas, writers, report, progress)
            except BaseException:
                writers.abort()
                raise
            writers.close(report)
            report.corpus_files = {p.name: h for p, h in zip(files, hashes)}
        project = write_project(tmp, corpus, schema, config, schema_file)
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


def _stream(corpus: Corpus, source: Iterator[Block], names: Names, schemas: dict[str, pa.Schema], writers: _Writers,
            report: BuildReport, progress: Callable[[int], None] | None) -> None:
    counts: Counter = Counter()  # (split, layer, label) -> n
    best: tuple[int, dict[str, Any]] | None = None  # (text length, documents row) of the card's example
    for block in source:
        split = split_indices(block.docs.column("id").to_pylist(), report.ratios)
        order = np.argsort(split, kind="stable")  # documents grouped by split, in file order within each
        split = split[order]
        docs = Docs(block, schemas["documents"], corpus.documents_path, order)
        layers = Layers(docs, schemas["documents"], names, corpus.annotations_path)
        table = docs.table(schemas["documents"], layers.chosen, layers.columns)
        writers.add("documents", table, split)
        sentences = Sentences(docs)
        ner, conflicts = ner_table(sentences, layers, schemas["ner"])
        writers.add("ner", ner, split[sentences.doc])
        writers.add("events", events_table(sentences, layers, schemas["events"]), split[sentences.doc])
        writers.add("attribution", layers.attribution_table(schemas["attribution"]), split[layers.attributions.doc])
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
