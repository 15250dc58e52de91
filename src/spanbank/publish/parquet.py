"""The parquet side of the build: writer options (as ``datasets`` writes for Hub uploads) and the shard writers.

One pyarrow ``ParquetWriter`` per written (config, split) (a view, :data:`~.features.VIEWS`, has no files of its own), whose schema is the features' arrow schema (so the
``huggingface`` feature metadata is embedded in every shard); shards get their final
``-NNNNN-of-NNNNN`` names at close.  The configs of a block are written on background threads.
"""

from __future__ import annotations

import json
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .features import SPLITS, WRITTEN

DEFAULT_SHARD_BYTES = 256 * 1024 * 1024
WRITE_THREADS = 3  # parquet encoding releases the GIL: the configs of a block are written in parallel
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


class Writers:
    """One shard writer per (config, split); a block's table is split by its rows' document split.

    Writing runs on background threads, one task per config (pyarrow releases the GIL while
    encoding), overlapping the next block's computation; at most one block waits, so memory stays
    bounded.
    """

    def __init__(self, root: Path, schemas: dict[str, pa.Schema], shard_bytes: int,
                 views: dict[str, tuple[str, list[str]]] | None = None) -> None:
        self.pool = ThreadPoolExecutor(max_workers=WRITE_THREADS, thread_name_prefix="spanbank-parquet")
        self.jobs: list[tuple[_SplitWriter, pa.Table]] = []
        self.pending: list[Future] = []
        self.writers: dict[tuple[str, str], _SplitWriter] = {}
        self.views = views or {}  # view -> (the config whose files hold it, its columns)
        self.view_bytes: dict[tuple[str, str], int] = {}  # (view, split) -> Arrow bytes of its columns
        for config in WRITTEN:
            folder = root / "data" / config
            folder.mkdir(parents=True)
            for split in SPLITS:
                self.writers[config, split] = _SplitWriter(folder, split, schemas[config], shard_bytes)

    def add(self, config: str, table: pa.Table, split: np.ndarray) -> None:
        """Write ``table``'s rows; ``split[i]`` (non-decreasing) is the index in SPLITS of row ``i``."""
        bounds = np.searchsorted(split, np.arange(len(SPLITS) + 1), "left")
        for i, name in enumerate(SPLITS):
            if bounds[i + 1] > bounds[i]:
                part = table.slice(bounds[i], bounds[i + 1] - bounds[i])
                self.jobs.append((self.writers[config, name], part))
                for view, (source, columns) in self.views.items():
                    if source == config:
                        key = (view, name)
                        self.view_bytes[key] = self.view_bytes.get(key, 0) + part.select(columns).nbytes

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

    def close(self, report: Any) -> None:
        """Close every shard; the report (a :class:`~.build.BuildReport`) gets shards, rows and bytes per split."""
        self.flush()
        self.wait()
        self.pool.shutdown()
        for (config, split), writer in self.writers.items():
            names = writer.close()
            report.shards.setdefault(config, {})[split] = [f"data/{config}/{n}" for n in names]
            report.num_examples.setdefault(config, {})[split] = writer.rows
            report.num_bytes.setdefault(config, {})[split] = writer.nbytes
        for view, (source, _) in self.views.items():  # a view's rows are its source's; its bytes, its columns'
            for split in SPLITS:
                report.shards.setdefault(view, {})[split] = report.shards[source][split]
                report.num_examples.setdefault(view, {})[split] = report.num_examples[source][split]
                report.num_bytes.setdefault(view, {})[split] = self.view_bytes.get((view, split), 0)
