"""The parquet side of the build: writer options (as ``datasets`` writes for Hub uploads) and the shard writers.

One pyarrow ``ParquetWriter`` per written (config, split, first release) (a view, :data:`~.features.VIEWS`, has no
files of its own), whose schema is the features' arrow schema (so the
``huggingface`` feature metadata is embedded in every shard); shards get their final
``-NNNNN-of-NNNNN`` names at close.  The shards of a block are written on background threads.
"""

from __future__ import annotations

import json
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .features import SPLITS, WRITTEN

DEFAULT_SHARD_BYTES = 256 * 1024 * 1024
ROW_GROUP_DOCS = 1024  # a row group ends after a document whose id hash is 0 modulo this (about this many documents)
ROW_GROUP_MAX_ROWS = 65536  # ... or after this many rows without such a document (memory stays bounded)
WRITE_THREADS = 3  # parquet encoding releases the GIL: the shards of a block are written in parallel
IN_FLIGHT = 2  # blocks handed to the writer threads and not yet written (memory: their tables)
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
    """Parquet shards of one (config, split, first release); :class:`Writers` gives them their final names.

    Row groups end after the rows of a boundary document (content-defined: :data:`ROW_GROUP_DOCS`), or after
    :data:`ROW_GROUP_MAX_ROWS` rows without one, never at the build's block edges, so the same documents give the
    same row groups (and bytes) however the corpus around them changed.
    """

    def __init__(self, folder: Path, prefix: str, schema: pa.Schema, shard_bytes: int) -> None:
        self.folder, self.prefix, self.schema, self.shard_bytes = folder, prefix, schema, shard_bytes
        self.options = writer_options(schema)
        self.parts: list[Path] = []
        self.writer: pq.ParquetWriter | None = None
        self.pending: list[pa.Table] = []
        self.pending_rows = 0
        self.shard_size = 0
        self.rows = 0
        self.nbytes = 0
        self.queued = 0  # Arrow bytes handed to it (counted when queued, on the build's thread)

    def write(self, table: pa.Table, cuts: np.ndarray) -> None:
        """Add ``table``'s rows; a row group ends after row ``cut - 1`` for each ``cut`` in ``cuts`` (ascending,
        ``0 < cut <= len(table)``), and after :data:`ROW_GROUP_MAX_ROWS` rows without a cut."""
        self.rows += table.num_rows
        self.nbytes += table.nbytes
        at = 0
        for cut in cuts.tolist():
            at = self._append(table, at, cut)
            self._row_group()
        self._append(table, at, table.num_rows)

    def _append(self, table: pa.Table, at: int, end: int) -> int:
        """Queue rows ``[at, end)``, ending a row group at each :data:`ROW_GROUP_MAX_ROWS` rows since the last one
        (counted from the last cut, so still content-defined); returns ``end``."""
        while end - at >= ROW_GROUP_MAX_ROWS - self.pending_rows:
            take = ROW_GROUP_MAX_ROWS - self.pending_rows
            self.pending.append(table.slice(at, take))
            self.pending_rows, at = self.pending_rows + take, at + take
            self._row_group()
        if end > at:
            self.pending.append(table.slice(at, end - at))
            self.pending_rows += end - at
        return end

    def _row_group(self) -> None:
        if not self.pending:
            return
        if self.writer is None or self.shard_size >= self.shard_bytes:
            self._open()
        assert self.writer is not None
        rows = pa.concat_tables(self.pending)
        self.writer.write_table(rows, row_group_size=rows.num_rows)
        self.shard_size += rows.nbytes
        self.pending, self.pending_rows = [], 0

    def _close_shard(self) -> None:
        assert self.writer is not None
        if self.options["use_content_defined_chunking"]:  # as datasets records it
            self.writer.add_key_value_metadata({"content_defined_chunking": json.dumps(CDC_OPTIONS)})
        self.writer.close()

    def _open(self) -> None:
        if self.writer is not None:
            self._close_shard()
        path = self.folder / f".{self.prefix}-{len(self.parts):05d}.tmp.parquet"
        self.parts.append(path)
        self.writer = pq.ParquetWriter(path, self.schema, **self.options)
        self.shard_size = 0

    def close(self) -> list[Path]:
        """The written shards, in order (temporary names)."""
        self._row_group()
        if self.writer is not None:
            self._close_shard()
            self.writer = None
        return self.parts


def release_order(version: str | None) -> tuple:
    """Sort key of a document's ``first_release``: versions in semantic order, other strings after, unreleased last."""
    if version is None:
        return (2,)
    try:
        return (0, tuple(int(part) for part in version.split(".")))
    except ValueError:
        return (1, version)


def _write_all(jobs: list[tuple[_SplitWriter, pa.Table, np.ndarray]], after: Future | None) -> None:
    if after is not None:
        after.result()  # the writer's previous block first (it was submitted earlier, so it is running or done)
    for writer, table, cuts in jobs:
        writer.write(table, cuts)


def _close_after(writer: _SplitWriter, after: Future | None) -> list[Path]:
    if after is not None:
        after.result()  # its last block (submitted before every close, so running or done); re-raises its error
    return writer.close()


class Writers:
    """Shard writers per (config, split, first release); a block's table is cut by its rows' group.

    A split's shards hold its documents (and their sentences and attributions) by the release that first
    published them, oldest first, so a release that adds documents adds shards and leaves the earlier
    shards' bytes as they were unless their documents changed (the Hub then uploads little).  Writing
    runs on background threads, one task per shard writer (pyarrow releases the GIL while encoding),
    overlapping the next blocks' computation; at most :data:`IN_FLIGHT` blocks wait, so memory stays bounded.
    """

    def __init__(self, root: Path, schemas: dict[str, pa.Schema], shard_bytes: int,
                 views: dict[str, tuple[str, list[str]]] | None = None) -> None:
        self.pool = ThreadPoolExecutor(max_workers=WRITE_THREADS, thread_name_prefix="spanbank-parquet")
        self.jobs: list[tuple[_SplitWriter, pa.Table, np.ndarray]] = []
        self.pending: deque[list[Future]] = deque()  # per block handed over, its tasks
        self.last: dict[_SplitWriter, Future] = {}  # shard writer -> its latest task
        self.schemas, self.shard_bytes = schemas, shard_bytes
        self.writers: dict[tuple[str, str, str | None], _SplitWriter] = {}
        self.views = views or {}  # view -> (the config whose files hold it, its columns)
        self.view_bytes: dict[tuple[str, str], int] = {}  # (view, split) -> Arrow bytes of its columns
        self.folders = {config: root / "data" / config for config in WRITTEN}
        for folder in self.folders.values():
            folder.mkdir(parents=True)

    def _writer(self, config: str, split: str, release: str | None) -> _SplitWriter:
        key = (config, split, release)
        if key not in self.writers:
            n = sum(1 for c, s, _ in self.writers if (c, s) == (config, split))
            self.writers[key] = _SplitWriter(self.folders[config], f"{split}-{n:03d}", self.schemas[config],
                                             self.shard_bytes)
        return self.writers[key]

    def add(self, config: str, table: pa.Table, group: np.ndarray, groups: list[tuple[str, str | None]],
            doc: np.ndarray, boundary: np.ndarray) -> None:
        """Write ``table``'s rows; row ``i`` belongs to ``groups[group[i]]`` = (split, first release) (``group`` is
        non-decreasing) and to document ``doc[i]``; a row group ends after the rows of a document whose
        ``boundary`` is set."""
        bounds = np.searchsorted(group, np.arange(len(groups) + 1), "left")
        last = np.ones(len(doc), bool)  # the last row of its document
        last[:-1] = doc[1:] != doc[:-1]
        ends = np.flatnonzero(last & boundary[doc]) + 1 if len(doc) else np.zeros(0, np.int64)
        for i, (split, release) in enumerate(groups):
            if bounds[i + 1] > bounds[i]:
                part = table.slice(bounds[i], bounds[i + 1] - bounds[i])
                cuts = ends[(ends > bounds[i]) & (ends <= bounds[i + 1])] - bounds[i]
                writer = self._writer(config, split, release)
                self.jobs.append((writer, part, cuts))
                writer.queued += part.nbytes
                for view, (source, columns) in self.views.items():
                    if source == config:
                        key = (view, split)
                        self.view_bytes[key] = self.view_bytes.get(key, 0) + part.select(columns).nbytes

    def flush(self) -> None:
        """Hand the block's tables to the writer threads (once fewer than :data:`IN_FLIGHT` blocks are being written)."""
        self.wait(IN_FLIGHT - 1)
        jobs, self.jobs = self.jobs, []
        by_writer: dict[_SplitWriter, list[tuple[_SplitWriter, pa.Table, np.ndarray]]] = {}
        for job in jobs:  # one task per shard writer, after its previous one: its tables stay in order
            by_writer.setdefault(job[0], []).append(job)
        block = []
        for writer, group in by_writer.items():
            self.last[writer] = self.pool.submit(_write_all, group, self.last.get(writer))
            block.append(self.last[writer])
        self.pending.append(block)

    def wait(self, keep: int) -> None:
        """Wait until at most ``keep`` blocks are still being written."""
        while len(self.pending) > keep:
            for future in self.pending.popleft():
                future.result()  # re-raises a write error here

    def abort(self) -> None:
        self.jobs = []
        self.pool.shutdown(wait=True, cancel_futures=True)

    def close(self, report: Any) -> None:
        """Close every shard and give it its final name, ``<split>-NNNNN-of-NNNNN.parquet`` (oldest first release
        first); the report (a :class:`~.build.BuildReport`) gets shards, rows and bytes per split.  An empty split
        gets no file (``load_dataset`` cannot read a 0-row split)."""
        self.flush()
        # the build's tail: each shard writer writes its last row group and closes its file right after its own last
        # block (no barrier), the writers given the most bytes first (they have the most left to write)
        by_size = sorted(self.writers.items(), key=lambda item: -item[1].queued)
        tasks = {key: self.pool.submit(_close_after, w, self.last.get(w)) for key, w in by_size}
        try:
            closed = {key: task.result() for key, task in tasks.items()}
        except BaseException:
            self.abort()
            raise
        self.pending.clear()
        self.pool.shutdown()
        for config in WRITTEN:
            for split in SPLITS:
                mine = sorted(((release, w) for (c, s, release), w in self.writers.items() if (c, s) == (config, split)),
                              key=lambda item: release_order(item[0]))
                parts = [part for release, _ in mine for part in closed[(config, split, release)]]
                names = [f"{split}-{i:05d}-of-{len(parts):05d}.parquet" for i in range(len(parts))]
                for part, name in zip(parts, names):
                    part.rename(self.folders[config] / name)
                report.shards.setdefault(config, {})[split] = [f"data/{config}/{n}" for n in names]
                report.num_examples.setdefault(config, {})[split] = sum(w.rows for _, w in mine)
                report.num_bytes.setdefault(config, {})[split] = sum(w.nbytes for _, w in mine)
        for view, (source, _) in self.views.items():  # a view's rows are its source's; its bytes, its columns'
            for split in SPLITS:
                report.shards.setdefault(view, {})[split] = report.shards[source][split]
                report.num_examples.setdefault(view, {})[split] = report.num_examples[source][split]
                report.num_bytes.setdefault(view, {})[split] = self.view_bytes.get((view, split), 0)
