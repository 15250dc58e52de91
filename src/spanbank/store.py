"""The versioned corpus store: deterministic, git-friendly JSONL files, atomic writes, one writer at a time.

Layout of a corpus folder::

    documents.jsonl     one document per line (text, metadata, boundaries), sorted by id
    annotations.jsonl   one span / event / attribution per line, sorted by (doc, set, kind, id)
    manifest.json       written by a release: version, schema, counts, file hashes
    CHANGELOG.md        one entry per release
    doccano-rounds.jsonl  one line per Doccano annotation round (a pull that brought human labels in)

Text lives apart from annotations so that annotation changes diff cleanly.  Both files are read as
a stream (a merge join on the document id), so memory stays flat however large the corpus.  A write
spills documents to a temporary file, sorts an index of ids only, then writes both files to temp
names and renames them into place; a lock file keeps a second writer out.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Iterator

import orjson
from filelock import FileLock, Timeout

from .errors import CorpusError
from . import jsonl
from .atomic import JOURNAL, atomic_files, atomic_writer, recover as atomic_recover  # noqa: F401  (atomic_writer, JOURNAL: callers import them from here)
from .lines import Lines, line_at, read_range
from .model import Document
from .records import (  # noqa: F401  (the codec lives with the declaration; callers import it from here too)
    annotation_records,
    document_from_records,
    document_record,
    dumps,
    prov_from_json,
    prov_to_json,
)

DOCUMENTS = "documents.jsonl"
ANNOTATIONS = "annotations.jsonl"
MANIFEST = "manifest.json"
CHANGELOG = "CHANGELOG.md"
ROUNDS = "doccano-rounds.jsonl"
LOCK = ".lock"
RAMP = 1 << 20  # bytes: the smallest block of a ramped cut (Corpus.aligned)
SEAL = "seal"  # manifest key: sha256 of the rest of the manifest, so an edit by hand is seen
MANIFEST_FIX = ("manifest.json is written only by `spanbank release`: restore it from git "
                "(`git checkout corpus-vX.Y.Z -- corpus/manifest.json`), or delete it to start the versions again at 1.0.0")
KIND_ORDER = {"span": 0, "event": 1, "attribution": 2}


# --- reading ------------------------------------------------------------------------------------


Line = tuple[int, dict[str, Any]]


def merge_join(documents: Iterable[Line], annotations: Iterable[Line],
               orphan: Callable[[int, dict[str, Any]], None]) -> Iterator[tuple[Line, list[Line]]]:
    """THE merge join of the two corpus files (both sorted by document id), streaming: each (line, document
    record) with its [(line, annotation record), ...].  ``orphan(line, record)`` is called for an annotation
    whose document is not in ``documents`` (or is out of order), in file order; it may raise."""
    annotations = iter(annotations)
    pending = next(annotations, None)
    for line, rec in documents:
        doc_id = rec.get("id")
        while pending is not None and isinstance(doc_id, str) and str(pending[1].get("doc")) < doc_id:
            orphan(*pending)
            pending = next(annotations, None)
        group = []
        while pending is not None and pending[1].get("doc") == doc_id:
            group.append(pending)
            pending = next(annotations, None)
        yield (line, rec), group
    while pending is not None:
        orphan(*pending)
        pending = next(annotations, None)




@dataclass(frozen=True)
class Corpus:
    """A corpus folder.  Reads stream; writes are atomic and locked."""

    path: Path

    @property
    def documents_path(self) -> Path:
        return self.path / DOCUMENTS

    @property
    def annotations_path(self) -> Path:
        return self.path / ANNOTATIONS

    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST

    @property
    def changelog_path(self) -> Path:
        return self.path / CHANGELOG

    def exists(self) -> bool:
        return self.documents_path.exists()

    def grouped_records(self) -> Iterator[tuple[tuple[int, dict], list[tuple[int, dict]]]]:
        """((line, document record), [(line, annotation record), ...]) per document, streaming both files."""
        def orphan(line: int, rec: dict) -> None:
            raise CorpusError(f"annotation for document {rec.get('doc')!r} has no document, or is out of order",
                              path=str(self.annotations_path), line=line, hint="run `spanbank validate` for the full list")
        return merge_join(jsonl.read(self.documents_path), jsonl.read(self.annotations_path), orphan)

    def misplaced(self, found: CorpusError) -> CorpusError:
        """The first problem of the join in file order (an annotation without its document or out of order, a
        bad line), named at its file:line by :meth:`grouped_records`, else ``found``.

        For a reader of blocks that has found a problem: a block cut by bisection from lines out of order
        may hold a good record in place of the bad one, so the whole join is scanned (on this error path only).
        """
        try:
            for _ in self.grouped_records():
                pass
        except CorpusError as exc:
            return exc
        return found

    def documents(self) -> Iterator[Document]:
        """Every document with its annotation sets, in id order, one at a time."""
        for (line, rec), group in self.grouped_records():
            try:
                yield document_from_records(rec, (r for _, r in group))
            except (KeyError, TypeError, ValueError) as exc:
                path, line = self._culprit(line, rec, group)
                raise CorpusError(f"document {rec.get('id')!r} cannot be read: {exc}", path=path,
                                  line=line, hint="run `spanbank validate` for every problem") from None

    def _culprit(self, line: int, rec: dict, group: list[tuple[int, dict]]) -> tuple[str, int]:
        """The file and line of the record that stops a document from loading (its document line when none alone does)."""
        try:
            document_from_records(rec, ())
        except (KeyError, TypeError, ValueError):
            return str(self.documents_path), line
        for ann_line, r in group:
            try:
                document_from_records(rec, (r,))
            except (KeyError, TypeError, ValueError):
                return str(self.annotations_path), ann_line
        return str(self.documents_path), line

    def stamp(self) -> tuple:
        """(inode, size, mtime) of both files: every write renames new files into place, so any write changes it."""
        out = []
        for path in (self.documents_path, self.annotations_path):
            try:
                st = path.stat()
                out.append((st.st_ino, st.st_size, st.st_mtime_ns))
            except FileNotFoundError:
                out.append(None)
        return tuple(out)

    def blocks(self, size: int) -> Iterator["Block"]:
        """The corpus cut into blocks of ``size`` documents, as byte ranges of both files (:meth:`aligned`).

        A block is read back with :meth:`Block.documents`, by any process that sees the files (an
        engine that spreads documents over workers ships blocks, not documents).  Valid while the
        caller holds :meth:`lock` (every write renames new files into place).
        """
        return (block for block, _, _ in self.aligned(docs=size))

    def aligned(self, *, docs: int | None = None, max_bytes: int | None = None,
                ramp: bool = False) -> Iterator[tuple["Block", memoryview, memoryview]]:
        """THE cut of both files into aligned blocks: each :class:`Block` with its bytes of both files (read-only views).

        A block is ``docs`` documents, or whole lines of about ``max_bytes`` bytes of documents.jsonl
        (a longer line is a block of its own; ``Block.count`` is then None: the parser counts), with the run of annotation lines whose ``doc`` is at
        most the block's last document id (both files are sorted by document id, so the run is found
        by bisection: only a few lines per block are parsed here).  Memory: a block of each file.
        ``ramp`` (with ``max_bytes``): the first blocks grow from :data:`RAMP` bytes and the last ones shrink
        to it (each at most half of what is left), so a pipeline over the blocks starts and drains quickly.
        The records are checked by whoever parses a block (an annotation that lands in a block
        without its document is an orphan, or out of order); annotations after the last document
        are reported here, at their file:line.
        """
        if (docs is None) == (max_bytes is None) or (docs or max_bytes or 0) < 1:
            raise ValueError("aligned() takes docs >= 1 or max_bytes >= 1")
        try:
            yield from self._aligned(docs, max_bytes, ramp)
        except CorpusError as exc:
            raise self.misplaced(exc) from None

    def _aligned(self, docs: int | None, max_bytes: int | None,
                 ramp: bool) -> Iterator[tuple["Block", memoryview, memoryview]]:
        read_size = max_bytes or 1 << 20
        total = self.documents_path.stat().st_size if ramp and self.documents_path.exists() else 0
        with Lines(self.documents_path, read_size) as doc_lines, Lines(self.annotations_path, read_size) as ann_lines:
            for k in itertools.count():
                size = max_bytes or 0
                if ramp:
                    left = total - doc_lines.base - doc_lines.pos
                    size = min(size, max(min(RAMP << min(k, 32), left // 2), RAMP))
                cut, n = doc_lines.cut_docs(docs) if docs else (doc_lines.cut_bytes(size), None)
                if cut == doc_lines.pos:
                    break
                last = doc_lines.last_key(cut, "id") if n != 0 else None
                doc_start, doc_bytes = doc_lines.take(cut)
                if last is None:  # only blank lines
                    continue
                ann_start, ann_bytes = ann_lines.take(ann_lines.cut_upto(last))
                yield (Block(str(self.path), doc_start, doc_start + len(doc_bytes), ann_start,
                             ann_start + len(ann_bytes), n), doc_bytes, ann_bytes)
            ann_lines.no_more()

    def ids(self) -> Iterator[str]:
        for _, rec in jsonl.read(self.documents_path):
            yield rec["id"]

    def count(self) -> int:
        return sum(1 for _ in self.ids())

    @property
    def rounds_path(self) -> Path:
        return self.path / ROUNDS

    def rounds(self) -> list[dict[str, Any]]:
        """The recorded Doccano annotation rounds, oldest first (an empty list when there were none)."""
        return [rec for _, rec in jsonl.read(self.rounds_path)] if self.rounds_path.exists() else []

    def add_round(self, record: dict[str, Any]) -> dict[str, Any]:
        """Append an annotation round (numbered from 1) atomically and return it.  Caller holds :meth:`lock`."""
        rounds = self.rounds()
        record = {"round": len(rounds) + 1, **record}
        with atomic_writer(self.rounds_path) as fh:
            fh.writelines(dumps(r) for r in (*rounds, record))
        return record

    def read_manifest(self) -> dict[str, Any] | None:
        """The last release's manifest (None before a first release); a broken one raises CorpusError naming file:line:col."""
        if not self.manifest_path.exists():
            return None
        raw = self.manifest_path.read_bytes()
        try:
            manifest = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise CorpusError(f"not valid JSON: {exc.msg}", path=str(self.manifest_path), line=exc.lineno,
                              offset=exc.colno, hint=MANIFEST_FIX) from None
        if not isinstance(manifest, dict):
            raise CorpusError(f"the manifest is not a JSON object: {raw[:40]!r}", path=str(self.manifest_path), line=1,
                              hint=MANIFEST_FIX)
        return manifest

    def manifest_edit(self, manifest: dict[str, Any] | None = None) -> str | None:
        """Why the manifest looks edited by hand since its release (its seal does not match), or None."""
        manifest = self.read_manifest() if manifest is None else manifest
        if manifest is None or SEAL not in manifest or manifest[SEAL] == manifest_seal(manifest):
            return None
        return (f"edited by hand after release {manifest.get('version')}: its seal does not match its content "
                "(a manifest is written only by `spanbank release`)")

    @contextlib.contextmanager
    def lock(self, timeout: float = 10.0) -> Iterator[None]:
        """Hold the corpus write lock, or fail naming the lock file."""
        self.path.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.path / LOCK))
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            raise CorpusError("another spanbank process is writing this corpus", path=str(self.path / LOCK),
                              hint="wait for it to finish (or remove the lock file if no spanbank process runs)") from None
        try:
            recover(self.path)
            yield
        finally:
            lock.release()

    def write(self, docs: Iterable[Document], progress: Callable[[int], None] | None = None,
              texts: tuple[tuple[str, ...], Callable[[dict[str, str]], dict[str, str]]] | None = None) -> int:
        """Replace the corpus content with ``docs`` (any order, unique ids), atomically.  Returns the count.

        ``texts`` = (names, make): small files of the corpus folder committed in the same transaction,
        ``make`` receiving the sha256 of the new documents.jsonl and annotations.jsonl by file name and
        returning each name's text (a release's manifest records the hashes of the files it commits with).
        Caller must hold :meth:`lock` (it guards read-modify-write as a whole).
        """
        self.path.mkdir(parents=True, exist_ok=True)
        names, make = texts or ((), None)
        with tempfile.TemporaryFile(dir=self.path, prefix=".spill-") as spill:
            index = _spill(docs, spill, progress)
            with atomic_files([self.documents_path, self.annotations_path, *(self.path / n for n in names)]) as handles:
                dfh, afh, dsum, asum = handles[0], handles[1], hashlib.sha256(), hashlib.sha256()
                previous = None
                for doc_id, offset in index:
                    if doc_id == previous:
                        raise CorpusError(f"document id {doc_id!r} is written twice", path=str(self.documents_path),
                                          hint="deduplicate before writing")
                    previous = doc_id
                    spill.seek(offset)
                    doc_line, n_ann = spill.readline(), int(spill.readline())
                    dfh.write(doc_line)
                    dsum.update(doc_line)
                    for _ in range(n_ann):
                        line = spill.readline()
                        afh.write(line)
                        asum.update(line)
                if make is not None:
                    made = make({self.documents_path.name: dsum.hexdigest(), self.annotations_path.name: asum.hexdigest()})
                    for name, fh in zip(names, handles[2:]):
                        fh.write(made[name].encode("utf-8"))
        return len(index)

    def write_text(self, name: str, text: str) -> None:
        self.write_texts({name: text})

    def write_texts(self, texts: dict[str, str]) -> None:
        """Replace several small files of the corpus folder as one commit.  Caller holds :meth:`lock`."""
        names = list(texts)
        with atomic_files([self.path / n for n in names]) as handles:
            for name, fh in zip(names, handles):
                fh.write(texts[name].encode("utf-8"))


@dataclass(frozen=True)
class Block:
    """``count`` consecutive documents of the corpus at ``path``: byte ranges ``[start, end)`` of both files.

    ``count`` is None for a block cut by bytes (:meth:`Corpus.aligned` does not count lines then).
    """

    path: str
    doc_start: int
    doc_end: int
    ann_start: int
    ann_end: int
    count: int | None

    def documents(self) -> Iterator[Document]:
        """The block's documents with their annotation sets, in id order (reads only the block's bytes).

        The records are joined by :func:`merge_join`, so a problem is reported as :meth:`Corpus.documents`
        reports it, at its file:line.
        """
        corpus = Corpus(Path(self.path))
        ann_path = corpus.annotations_path

        def orphan(offset: int, rec: dict[str, Any]) -> None:
            raise corpus.misplaced(CorpusError(f"annotation for document {rec.get('doc')!r} has no document, or is out "
                                               "of order", path=str(ann_path), line=line_at(ann_path, offset),
                                               hint="run `spanbank validate` for the full list"))

        for (offset, rec), group in merge_join(read_range(corpus.documents_path, self.doc_start, self.doc_end),
                                               read_range(ann_path, self.ann_start, self.ann_end), orphan):
            try:
                yield document_from_records(rec, (r for _, r in group))
            except (KeyError, TypeError, ValueError) as exc:
                path, offset = corpus._culprit(offset, rec, group)
                raise CorpusError(f"document {rec.get('id')!r} cannot be read: {exc}", path=path,
                                  line=line_at(Path(path), offset), hint="run `spanbank validate` for every problem") from None


def _spill(docs: Iterable[Document], spill: IO[bytes], progress: Callable[[int], None] | None) -> list[tuple[str, int]]:
    index = []
    for doc in docs:
        index.append((doc.id, spill.tell()))
        lines = [dumps(r) for r in annotation_records(doc)]
        spill.write(dumps(document_record(doc)))
        spill.write(b"%d\n" % len(lines))
        spill.writelines(lines)
        if progress:
            progress(1)
    index.sort()
    return index


def recover(folder: Path) -> list[str]:
    """:func:`spanbank.atomic.recover` of a corpus folder (its files, and import temp folders); the caller holds the lock."""
    return atomic_recover(folder, (DOCUMENTS, ANNOTATIONS, MANIFEST, CHANGELOG, ROUNDS), (".import-*",))


def manifest_seal(manifest: dict[str, Any]) -> str:
    """sha256 of the manifest without its seal (sorted keys, compact JSON)."""
    body = {k: v for k, v in manifest.items() if k != SEAL}
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def open_corpus(path: str | os.PathLike[str]) -> Corpus:
    return Corpus(Path(path))
