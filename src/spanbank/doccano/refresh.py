"""``push --refresh-silver``: replace the pre-annotations of examples no human has touched with the current silver.

An example on the server is a candidate when the revision of what the corpus would send now
(``payload``: gold, else silver) differs from the ``spanbank_rev`` in its meta; the others are
*unchanged* and cost no call.  A candidate is **human-touched**, and never changed, when anyone
confirmed it (``is_confirmed``: in a collaborative project, a state by any user), an approver approved
it, or it holds a span or relation made by any account other than the pushing one.  Otherwise its
pushing account's spans are deleted one by one (their relations go with them: Doccano cascades), the
new spans and relations are created over REST (UTF-16 offsets), and the meta's ``spanbank_rev`` is
updated *last*: that PATCH is the commit point.

Resumable: an example whose refresh was killed midway still has its old ``spanbank_rev`` and only
machine labels, so the next run takes it again, deletes every machine label and recreates the set;
nothing is duplicated.  Bounded: every call has the client's time bound and retries; at most
``THREADS`` examples are refreshed at once and at most ``2 * THREADS`` wait in memory.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from ..errors import SyncError
from ..formats.doccano import payload
from ..store import Corpus
from .client import DoccanoClient
from .threads import Progress

THREADS = 4


@dataclass
class RefreshReport:
    refreshed: list[str] = field(default_factory=list)
    human_touched: list[str] = field(default_factory=list)  # silver changed, but a human touched the example: kept
    unchanged: int = 0  # the server already has the current silver (or gold)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class _Example:
    id: int
    meta: dict
    touched: bool  # confirmed or approved (labels are checked per example)
    text_digest: bytes


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def refresh_silver(client: DoccanoClient, project: dict, corpus: Corpus, *, progress: Progress = None,
                   threads: int = THREADS) -> RefreshReport:
    """Refresh the untouched examples' pre-annotations (see the module notes).  Idempotent."""
    pid, me = project["id"], client.me()
    pusher_id, pusher = me["id"], me["username"]
    on_server: dict[str, _Example] = {}
    for ex in client.examples(pid, limit=500):
        meta = ex.get("meta") or {}
        sid = meta.get("spanbank_id") if isinstance(meta, dict) else None
        if sid and (sid not in on_server or ex["id"] < on_server[sid].id):
            on_server[sid] = _Example(ex["id"], meta, bool(ex.get("is_confirmed") or ex.get("annotation_approver")),
                                      _digest(ex["text"]))
    types = {kind: {t["text"]: t["id"] for t in client.label_types(pid, kind)} for kind in ("span", "relation")}
    report = RefreshReport()
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="spanbank-refresh") as pool:
        running: dict[Future, str] = {}
        for doc in corpus.documents():
            ex = on_server.get(doc.id)
            if ex is None:
                continue
            row = payload(doc, pusher)
            if row["spanbank_rev"] == ex.meta.get("spanbank_rev"):
                report.unchanged += 1
                continue
            if ex.text_digest != _digest(doc.text):
                raise SyncError(f"document {doc.id} (Doccano example {ex.id}): the text on the server differs from "
                                "the corpus", value=doc.id,
                                hint="texts must not be edited in Doccano; restore it there or re-ingest the article")
            if ex.touched:
                report.human_touched.append(doc.id)
                continue
            while len(running) >= 2 * threads:
                _collect(running, report, progress)
            running[pool.submit(_refresh_one, client, pid, ex, row, pusher_id, types)] = doc.id
        while running:
            _collect(running, report, progress)
    report.refreshed.sort()
    report.human_touched.sort()
    return report


def _collect(running: dict[Future, str], report: RefreshReport, progress: Progress) -> None:
    done, _ = wait(running, return_when=FIRST_COMPLETED)
    for future in done:
        doc_id = running.pop(future)
        (report.refreshed if future.result() else report.human_touched).append(doc_id)
        if progress:
            progress(1)


def _refresh_one(client: DoccanoClient, pid: int, ex: _Example, row: dict, pusher_id: int,
                 types: dict[str, dict[str, int]]) -> bool:
    """Replace one example's machine labels with ``row``'s; False (nothing changed) when a human touched it."""
    spans, relations = client.spans(pid, ex.id), client.relations(pid, ex.id)
    if any(item["user"] != pusher_id for item in (*spans, *relations)) or client.states(pid, ex.id):
        return False
    for s in spans:
        client.delete_span(pid, ex.id, s["id"], missing_ok=True)
    made: dict[int, int] = {}
    for e in row["entities"]:
        label = _type(types["span"], e["label"], "span")
        made[e["id"]] = client.create_span(pid, ex.id, e["start_offset"], e["end_offset"], label)["id"]
    for r in row["relations"]:
        client.create_relation(pid, ex.id, made[r["from_id"]], made[r["to_id"]], _type(types["relation"], r["type"], "relation"))
    meta = {**ex.meta, "spanbank_rev": row["spanbank_rev"], "spanbank_set": row["spanbank_set"]}
    client.update_example_meta(pid, ex.id, meta)
    return True


def _type(known: dict[str, int], name: str, kind: str) -> int:
    if name not in known:
        raise SyncError(f"the Doccano project has no {kind} label {name!r}", value=name, allowed=sorted(known),
                        hint="run `spanbank doccano setup` to create the schema's labels")
    return known[name]
