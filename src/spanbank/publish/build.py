"""Build the Hub-layout folder: ``README.md`` + ``data/<config>/<split>-NNNNN-of-NNNNN.parquet``.

The corpus is streamed once: records are turned into rows (:mod:`.rows`) and written in batches
through one pyarrow ``ParquetWriter`` per (config, split), whose schema is the features' arrow
schema (so the ``huggingface`` feature metadata is embedded in every shard).  Memory stays flat:
at most one batch of rows per config is held.  The folder is built beside ``out`` and renamed
into place at the end, so a failed build leaves the previous one intact.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pyarrow as pa
import pyarrow.parquet as pq
from datasets import Features

from ..errors import PublishError
from ..model import LabelSchema
from ..store import Corpus, sha256_file
from .features import CONFIGS, SPLITS, Labels, dataset_features
from .rows import DocRows, document_rows, pairs_as_dicts

DEFAULT_RATIOS = (0.8, 0.1, 0.1)
DEFAULT_BATCH = 1000
DEFAULT_SHARD_BYTES = 256 * 1024 * 1024


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
    """The split of a document: a function of its id alone, so it never moves as documents are added."""
    u = int.from_bytes(hashlib.sha256(doc_id.encode("utf-8")).digest()[:8], "big") / 2**64
    if u < ratios[0]:
        return "train"
    return "validation" if u < ratios[0] + ratios[1] else "test"


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


class _SplitWriter:
    """Parquet shards of one (config, split); names get their final ``-of-NNNNN`` at close."""

    def __init__(self, folder: Path, split: str, schema: pa.Schema, shard_bytes: int) -> None:
        self.folder, self.split, self.schema, self.shard_bytes = folder, split, schema, shard_bytes
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

    def _open(self) -> None:
        if self.writer is not None:
            self.writer.close()
        path = self.folder / f".{self.split}-{len(self.parts):05d}.tmp.parquet"
        self.parts.append(path)
        self.writer = pq.ParquetWriter(path, self.schema, compression="snappy")
        self.shard_size = 0

    def close(self) -> list[str]:
        """Final shard names; an empty split gets no file (``load_dataset`` cannot read a 0-row split)."""
        if self.writer is None:
            return []
        self.writer.close()
        n = len(self.parts)
        names = []
        for i, part in enumerate(self.parts):
            name = f"{self.split}-{i:05d}-of-{n:05d}.parquet"
            part.rename(self.folder / name)
            names.append(name)
        return names


# Offset and token lists are the bulk of the data: they are collected flat per batch and turned into
# list arrays in one go ("pairs" = (starts, ends) -> list<struct<start, end>>, "list" = list<scalar>).
FLAT = {
    "documents": {"sections": "pairs", "paragraphs": "pairs", "sentences": "pairs", "tokens": "pairs"},
    "ner": {"tokens": "list", "offsets": "pairs", "ner_tags": "list"},
    "events": {"tokens": "list", "offsets": "pairs", "trigger_tags": "list"},
    "attribution": {},
}


class _Batch:
    """Rows of one (config, split) collected column by column, then converted to one Arrow table."""

    def __init__(self, schema: pa.Schema, flat: dict[str, str]) -> None:
        self.schema, self.flat = schema, flat
        self.rows = 0
        self.plain: dict[str, list[Any]] = {n: [] for n in schema.names if n not in flat}
        self.lists: dict[str, tuple[list[int], list[Any], list[Any]]] = {n: ([0], [], []) for n in flat}

    def add(self, row: dict[str, Any]) -> None:
        for name, column in self.plain.items():
            column.append(row[name])
        for name, kind in self.flat.items():
            offsets, first, second = self.lists[name]
            if kind == "pairs":
                first.extend(row[name][0])
                second.extend(row[name][1])
            else:
                first.extend(row[name])
            offsets.append(len(first))
        self.rows += 1

    def table(self) -> pa.Table:
        arrays = [self._list(f) if f.name in self.flat else pa.array(self.plain[f.name], type=f.type)
                  for f in self.schema]
        return pa.Table.from_arrays(arrays, schema=self.schema)

    def _list(self, field: pa.Field) -> pa.Array:
        offsets, first, second = self.lists[field.name]
        item = field.type.value_type
        if self.flat[field.name] == "pairs":
            values = pa.StructArray.from_arrays([pa.array(first, item.field(0).type), pa.array(second, item.field(1).type)],
                                                fields=[item.field(0), item.field(1)])
        else:
            values = pa.array(first, type=item)
        return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), values, type=field.type)


class _Writers:
    """Batches rows per (config, split) and hands full batches to the shard writers."""

    def __init__(self, root: Path, features: dict[str, Features], batch: int, shard_bytes: int) -> None:
        self.batch = batch
        self.schemas = {c: f.arrow_schema for c, f in features.items()}
        self.pending: dict[tuple[str, str], _Batch] = {}
        self.writers: dict[tuple[str, str], _SplitWriter] = {}
        for config in CONFIGS:
            folder = root / "data" / config
            folder.mkdir(parents=True)
            for split in SPLITS:
                self.writers[config, split] = _SplitWriter(folder, split, self.schemas[config], shard_bytes)
                self.pending[config, split] = _Batch(self.schemas[config], FLAT[config])

    def add(self, config: str, split: str, rows: list[dict[str, Any]]) -> None:
        batch = self.pending[config, split]
        for row in rows:
            batch.add(row)
        if batch.rows >= self.batch:
            self.flush(config, split)

    def flush(self, config: str, split: str) -> None:
        batch = self.pending[config, split]
        if batch.rows:
            self.writers[config, split].write(batch.table())
            self.pending[config, split] = _Batch(self.schemas[config], FLAT[config])

    def close(self, report: BuildReport) -> None:
        for (config, split), writer in self.writers.items():
            self.flush(config, split)
            names = writer.close()
            report.shards.setdefault(config, {})[split] = [f"data/{config}/{n}" for n in names]
            report.num_examples.setdefault(config, {})[split] = writer.rows
            report.num_bytes.setdefault(config, {})[split] = writer.nbytes


def build(corpus: Corpus, schema: LabelSchema, out: str | Path, ratios: tuple[float, float, float] = DEFAULT_RATIOS,
          progress: Callable[[int], None] | None = None, *, batch: int = DEFAULT_BATCH,
          shard_bytes: int = DEFAULT_SHARD_BYTES, card: dict[str, Any] | None = None) -> BuildReport:
    """Write the Hub-layout dataset folder for ``corpus`` to ``out`` (replacing it) and return the report.

    ``progress(n)`` is called per document; ``card`` overrides card fields (license, pretty_name, ...).
    """
    from .card import write_card  # the card needs the finished report

    if not corpus.exists() or corpus.documents_path.stat().st_size == 0:
        raise PublishError("no documents to publish", path=str(corpus.documents_path), hint="run `spanbank ingest` first")
    started = time.perf_counter()
    out = Path(out)
    _check_out(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    report = BuildReport(out=out, ratios=check_ratios(tuple(ratios)))
    report.corpus_files = {p.name: sha256_file(p) for p in (corpus.documents_path, corpus.annotations_path) if p.exists()}
    report.input_bytes = sum(p.stat().st_size for p in (corpus.documents_path, corpus.annotations_path) if p.exists())
    features = dataset_features(schema)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.build-"))
    try:
        writers = _Writers(tmp, features, batch, shard_bytes)
        _stream(corpus, Labels.from_schema(schema), writers, report, progress)
        writers.close(report)
        report.seconds = time.perf_counter() - started
        write_card(tmp, schema, features, report, corpus, card or {})
        _replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    report.seconds = time.perf_counter() - started
    return report


def _stream(corpus: Corpus, labels: Labels, writers: _Writers, report: BuildReport,
            progress: Callable[[int], None] | None) -> None:
    counts: dict[str, Counter] = {}
    best = None
    for (line, rec), group in corpus.grouped_records():
        where = f"{corpus.documents_path}:{line}"
        try:
            rows = document_rows(rec, [{**r, "_line": n} for n, r in group], labels, where, str(corpus.annotations_path))
        except (KeyError, TypeError) as exc:
            raise PublishError(f"document {rec.get('id')!r} has a malformed record ({exc})", path=str(corpus.documents_path),
                               line=line, hint="run `spanbank validate` for every problem") from None
        split = split_of(rec["id"], report.ratios)
        for config in CONFIGS:
            writers.add(config, split, [rows.document] if config == "documents" else getattr(rows, config))
        _tally(rows, split, counts, report)
        if rows.document["entities"] and (best is None or len(rec["text"]) < len(best["text"])):
            best = {k: pairs_as_dicts(v) if k in FLAT["documents"] else v for k, v in rows.document.items()}
        if progress:
            progress(1)
    report.example = best
    report.label_counts = {}
    for split, counter in counts.items():
        for (layer, label), n in counter.items():
            report.label_counts.setdefault(layer, {}).setdefault(label, {})[split] = n


def _tally(rows: DocRows, split: str, counts: dict[str, Counter], report: BuildReport) -> None:
    counts.setdefault(split, Counter()).update(rows.label_counts)
    report.sets[rows.document["annotation_set"] or "none"] += 1
    report.ner_conflicts += rows.ner_conflicts
    report.dropped_spans += rows.dropped_spans


def _check_out(out: Path) -> None:
    """``out`` is replaced wholesale, so it must be absent, empty or a previous build (README.md + data/)."""
    if out.exists() and not out.is_dir():
        raise PublishError("output path is a file", path=str(out), hint="choose a folder, e.g. --out dist/hf")
    if out.is_dir():
        extra = sorted(p.name for p in out.iterdir() if p.name not in ("README.md", "data", ".gitattributes"))
        if extra:
            raise PublishError(f"output folder holds files that are not a previous build: {', '.join(extra[:5])}",
                               path=str(out), hint="choose an empty or new folder (it is replaced on every build)")


def _replace_dir(new: Path, out: Path) -> None:
    """Swap the finished folder into place; the previous build is removed only after the rename."""
    if out.exists():
        old = out.with_name(f".{out.name}.old-{time.time_ns()}")
        out.rename(old)
        new.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        new.rename(out)
