"""The document side of a block: texts, boundaries and the lookups every config needs.

Boundaries (``sections``, ``paragraphs``, ``sentences``, ``tokens``) arrive as JSON ``[[s, e], ...]``
and leave as ``list<struct<start, end>>``.  Sentences and tokens are also kept flat (numpy, one
entry per sentence / token of the block, in document order) for the sentence configs:
``token_range`` and ``sentence_of`` are ``bisect`` over each document's offsets, done for all
documents at once with one ``searchsorted`` on per-document keys (:func:`~.arrow.keyed`).
"""

from __future__ import annotations

from pathlib import Path, PureWindowsPath

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import PublishError
from .arrow import Texts, keyed, numpy, pair_lists, reorder, struct
from .read import Block, line_of

BOUNDARIES = ("sections", "paragraphs", "sentences", "tokens")


class Docs:
    """One block of documents, with flat sentence / token offsets in code points.

    ``order`` rearranges the block (the build groups documents by split, so every config's rows
    come out grouped too); ``original[i]`` is the position of document ``i`` in the file's block.
    """

    def __init__(self, block: Block, schema: pa.Schema, path: Path, order: np.ndarray | None = None) -> None:
        self.block, self.path = block, path
        self.original = np.arange(block.docs.num_rows) if order is None else order
        if order is None:
            docs = self.batch = block.docs
        else:  # the nested boundary lists are reordered after flattening (a nested take is slow)
            keep = [name for name in block.docs.schema.names if name not in BOUNDARIES]
            docs = self.batch = block.docs.select(keep).take(pa.array(order))
        self.n = docs.num_rows
        self.ids = docs.column("id")
        self._require("id", "text")
        self.texts = Texts(docs.column("text"))
        self.boundaries = {}
        for name in BOUNDARIES:
            array, bad = pair_lists(block.docs.column(name), schema.field(name).type)
            if bad is not None and order is not None:
                bad = int(np.flatnonzero(order == bad)[0])
            elif order is not None:
                array = reorder(array, order)
            if bad is not None:
                raise PublishError(f"document {self.ids[bad].as_py()!r} has a malformed record ({name} must be "
                                   "[start, end] pairs of integers)", path=str(path), line=self.line(bad),
                                   hint="run `spanbank validate` for every problem")
            self.boundaries[name] = array
        self.tok_doc, self.tok_start, self.tok_end, self.tok_offsets = _flat(self.boundaries["tokens"])
        self.sent_doc, self.sent_start, self.sent_end, self.sent_offsets = _flat(self.boundaries["sentences"])
        self._tok_start_keys = keyed(self.tok_doc, self.tok_start)
        self._tok_end_keys = keyed(self.tok_doc, self.tok_end)
        self._sent_keys = keyed(self.sent_doc, self.sent_start)

    def line(self, i: int) -> int:
        """The file line of document ``i`` of the block."""
        return line_of(self.path, self.block.doc_row + int(self.original[i]))

    def where(self, i: int) -> str:
        return f"{self.path}:{self.line(i)}"

    def _require(self, *names: str) -> None:
        for name in names:
            column = self.batch.column(name)
            if column.null_count:
                i = int(np.flatnonzero(np.asarray(column.is_null()))[0])
                raise PublishError(f"document {self.ids[i].as_py()!r} has a malformed record (no {name!r})",
                                   path=str(self.path), line=self.line(i), hint="run `spanbank validate` for every problem")

    def token_range(self, doc: np.ndarray, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Block-wide indices [first, last) of the tokens of ``doc`` overlapping ``[start, end)``."""
        return (np.searchsorted(self._tok_end_keys, keyed(doc, start), "right"),
                np.searchsorted(self._tok_start_keys, keyed(doc, end), "left"))

    def tokens_from(self, doc: np.ndarray, offset: np.ndarray) -> np.ndarray:
        """Block-wide index of the first token of ``doc`` starting at or after ``offset``."""
        return np.searchsorted(self._tok_start_keys, keyed(doc, offset), "left")

    def sentence_of(self, doc: np.ndarray, offset: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Block-wide index of the sentence of ``doc`` containing ``offset``, and whether one does."""
        g = np.searchsorted(self._sent_keys, keyed(doc, offset), "right") - 1
        safe = np.maximum(g, 0)
        found = (g >= self.sent_offsets[doc]) & (offset < self.sent_end[safe]) if len(self.sent_end) else g < -1
        return safe, found

    def table(self, schema: pa.Schema, annotation_set: pa.Array, layers: dict[str, pa.Array]) -> pa.Table:
        """The ``documents`` config rows of the block."""
        columns = {name: self.batch.column(name) for name in ("id", "date", "title", "url", "source", "first_release", "text")}
        columns.update(annotation_set=annotation_set, **layers, **self.boundaries, origin=self._origin(schema))
        return pa.Table.from_arrays([columns[f.name] for f in schema], schema=schema)

    def _origin(self, schema: pa.Schema) -> pa.Array:
        """``origin`` with a missing ``normalization`` written as ``[]``."""
        origin = self.batch.column("origin")
        normalization = pc.struct_field(origin, "normalization")
        lengths = numpy(pc.list_value_length(normalization))
        type_ = schema.field("origin").type
        flat = pa.ListArray.from_arrays(pa.array(np.concatenate([[0], np.cumsum(lengths)]), pa.int32()),
                                        pc.list_flatten(normalization), type=type_.field("normalization").type)
        return struct(type_, {"path": public_paths(pc.struct_field(origin, "path"), self.path),
                              "sha256": pc.struct_field(origin, "sha256"),
                              "normalization": flat}, mask=np.asarray(origin.is_null()))


def public_path(path: str, project: Path) -> str:
    """An origin path as published: relative paths as they are; an absolute one relative to the project folder
    (the corpus's parent) when it lies inside it, else its file name (no local path leaves the machine)."""
    p = Path(path)
    if not p.is_absolute() and not PureWindowsPath(path).is_absolute():
        return path
    try:
        return p.relative_to(project).as_posix()
    except ValueError:
        return PureWindowsPath(path).name if PureWindowsPath(path).is_absolute() else p.name


def public_paths(paths: pa.Array, documents_path: Path) -> pa.Array:
    """:func:`public_path` of a column (the project folder is the corpus's parent: ``documents_path``'s grandparent);
    only the (rare) absolute paths go through Python."""
    absolute = pc.fill_null(pc.match_substring_regex(paths, r"^(/|\\\\|[A-Za-z]:[\\/])"), False)
    if not pc.any(absolute).as_py():
        return paths
    project = documents_path.resolve().parent.parent
    values = paths.to_pylist()
    return pa.array([public_path(v, project) if v is not None else None for v in values], pa.string())


def _flat(pairs: pa.ListArray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(document, start, end, per-document offsets) of every pair in the block."""
    offsets = np.asarray(pairs.offsets, np.int64)
    values = pairs.values
    start = numpy(values.field(0))[offsets[0]:offsets[-1]]
    end = numpy(values.field(1))[offsets[0]:offsets[-1]]
    doc = np.repeat(np.arange(len(pairs), dtype=np.int64), np.diff(offsets))
    return doc, start, end, offsets - offsets[0]
