"""The read half of a pull: every annotator's labels on Doccano, made into ``annotator/<name>`` sets
(:mod:`.annotators`), returned as a :class:`~.merge.Pulled` for :func:`spanbank.doccano.merge.commit`.

Nothing here writes the corpus or takes its lock: the REST reads take minutes on a big project, so
the sets are merged into the documents as they are *under the lock*, in ``merge.commit``, and a
writer that ran meanwhile keeps its change (the module notes of :mod:`.merge` say why the work is cut
this way).  Usage (what ``spanbank doccano pull`` does)::

    with connect() as client:
        pulled = pull.read(client, project, corpus, schema)
    report = merge.commit(corpus, pulled)
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
import zipfile
from pathlib import Path
from typing import IO, Iterator

import orjson

from ..errors import SyncError
from ..formats.doccano import fingerprint, revision
from ..model import Document, LabelSchema
from ..store import Corpus
from .annotators import DETAIL_PREFIX, Names, annotator_sets
from .client import DoccanoClient
from .merge import Found, Pulled, PullReport, read_resolved, with_annotator_sets
from .threads import Background, Progress


def read(client: DoccanoClient, project: dict, corpus: Corpus, schema: LabelSchema, *, only_approved: bool = False,
         force: bool = False, progress: Progress = None) -> Pulled:
    """Every annotator's labels as ``annotator/<name>`` sets, for :func:`~.merge.commit` (writes nothing).

    The corpus is read (text digests and revisions) while the server exports; the export is then
    checked against that in one pass, and only the examples someone touched (labels differ from
    what was pushed, or confirmed) cost REST calls and a second, selective read of the corpus.
    Nothing is written from those reads: ``merge.commit`` merges the sets into the documents as they
    are under the corpus lock, so a writer that ran meanwhile keeps its change.  A document edited
    locally since its push is a conflict: its sets are read only with ``force`` (see :mod:`.merge`).
    """
    report, pid = PullReport(), project["id"]
    corpus.path.mkdir(parents=True, exist_ok=True)
    resolved = read_resolved(corpus, project["name"])
    with tempfile.TemporaryDirectory(dir=corpus.path, prefix=".spill-doccano-") as tmp, Background() as background:
        local = background.submit(_local_state, corpus, background.stop)
        report.worker_note = client.check_worker()
        archive = client.export(pid, Path(tmp) / "export.zip", only_approved=only_approved)
        confirmed = {ex["id"] for ex in client.examples(pid, confirmed="true")}
        with (Path(tmp) / "rows.jsonl").open("w+b") as spill:
            rows = _scan_export(archive, local.result(), resolved, confirmed, only_approved, force, spill, report,
                                progress)
            found = _collect_sets(client, pid, corpus, schema, rows, spill, report,
                                  f"{DETAIL_PREFIX}{project['name']}") if rows else {}
    return Pulled(project["name"], found, resolved, force, report)


def _text_digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def _local_state(corpus: Corpus, stop: threading.Event) -> dict[str, tuple[bytes, str]]:
    """Spanbank id -> (digest of the text, revision of the pushed set) for every document of the corpus."""
    state = {}
    for doc in corpus.documents():
        if stop.is_set():
            break
        state[doc.id] = (_text_digest(doc.text), revision(doc))
    return state


def _scan_export(archive: Path, local: dict[str, tuple[bytes, str]], resolved: dict[str, tuple[str, str]],
                 confirmed: set[int], only_approved: bool, force: bool, spill: IO[bytes], report: PullReport,
                 progress: Progress) -> dict[str, int]:
    """Check each exported row against the corpus; spill the rows to read over REST (spanbank id -> offset).

    Rows without a spanbank id are skipped; a second row for an id is reported as not in the corpus.
    A row whose text differs from the corpus is an error (raised with the details by ``_collect_updates``).
    """
    rows: dict[str, int] = {}
    seen: set[str] = set()
    for row in _export_rows(archive):
        sid = row["spanbank_id"]
        if sid not in local or sid in seen:
            report.not_in_corpus.append(sid)
            continue
        seen.add(sid)
        report.examples += 1
        if progress:
            progress(1)
        digest, rev = local[sid]
        text_ok, is_confirmed = _text_digest(row["text"]) == digest, row["id"] in confirmed
        touched = is_confirmed or fingerprint(row["entities"], row["relations"]) != row["spanbank_rev"]
        if text_ok and (not touched or (only_approved and not is_confirmed)):
            report.unchanged += 1
            continue
        if text_ok and rev != row["spanbank_rev"] and resolved.get(sid) != (row["spanbank_rev"], rev):
            report.conflicts.append(sid)
            if not force:
                continue
        rows[sid] = spill.tell()
        spill.write(orjson.dumps(row) + b"\n")
    report.not_in_corpus.sort()
    report.conflicts.sort()
    return rows


def _export_rows(archive: Path) -> Iterator[dict]:
    """The rows of an export zip that carry a spanbank id, file by file.

    A local loop rather than ``jsonl.read``, which reads files by path: these are members of the
    server's zip, streamed without unpacking them.  A line that does not parse is the server's defect,
    reported (as ``jsonl.read`` would) with the member and line."""
    with zipfile.ZipFile(archive) as zf:
        for name in sorted(n for n in zf.namelist() if n.endswith(".jsonl")):
            with zf.open(name) as fh:
                for lineno, raw in enumerate(fh, start=1):
                    try:
                        row = orjson.loads(raw) if raw.strip() else {}
                    except orjson.JSONDecodeError as exc:
                        raise SyncError(f"Doccano's export is not valid JSONL: {exc.msg}", path=f"{archive.name}:{name}",
                                        line=lineno, offset=exc.pos,
                                        hint="export the project in Doccano's UI to check it; report the server's "
                                             "defect") from None
                    if isinstance(row, dict) and row.get("spanbank_id"):
                        yield row


def _collect_sets(client: DoccanoClient, pid: int, corpus: Corpus, schema: LabelSchema, rows: dict[str, int],
                  spill: IO[bytes], report: PullReport, origin: str) -> dict[str, Found]:
    """Rebuild the annotator sets of the spilled rows' documents (after checking every spilled text)."""
    def row_of(doc_id: str) -> dict:
        spill.seek(rows[doc_id])
        return orjson.loads(spill.readline())

    for doc in corpus.documents():
        if doc.id in rows:
            _check_text(doc, row_of(doc.id))
    found: dict[str, Found] = {}
    names = Names.fetch(client, pid)
    annotators: set[str] = set()
    for doc in (d for d in corpus.documents() if d.id in rows):
        row = row_of(doc.id)
        sets = annotator_sets(client, pid, doc, row, names, schema, report.rejects, origin)
        annotators.update(s.name.split("/", 1)[1] for s in sets)
        new, kept = with_annotator_sets(doc, sets)
        found[doc.id] = Found(row["spanbank_rev"], doc, sets, new.annotations != doc.annotations, kept)
    report.annotators = sorted(annotators)
    return found


def _check_text(doc: Document, row: dict) -> None:
    if row["text"] == doc.text:
        return
    at = next((i for i, (a, b) in enumerate(zip(doc.text, row["text"])) if a != b), min(len(doc.text), len(row["text"])))
    raise SyncError(f"document {doc.id} (Doccano example {row['id']}): the text on the server differs from the "
                    f"corpus from code point {at} ({doc.text[at:at + 20]!r} here, {row['text'][at:at + 20]!r} there)",
                    value=doc.id, hint="texts must not be edited in Doccano; restore it there or re-ingest the article")


__all__ = ["read"]
