"""The push journal and resumption: what a killed push had confirmed, and the server's duplicates removed.

The journal (``push-<key>.jsonl`` in the state folder, one per server + project) records, per chunk,
``{"begin": n, "docs": {id: rev}}`` before the upload, ``{"task": n, "id": task}`` once the server took
it, and ``{"done": n}`` after the count check.  Only done chunks count as on the server; a begun chunk
(killed push) makes the next push settle its task and :func:`reconcile` with the server's examples.
Every line is appended and fsynced; :func:`reset` rewrites the journal atomically after a reconcile.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections import defaultdict
from pathlib import Path

import orjson

from .. import jsonl
from ..errors import SyncError
from ..store import atomic_writer
from .client import DoccanoClient
from .state import open_private


def journal_path(state: Path, client: DoccanoClient, project: dict) -> Path:
    key = hashlib.sha256(f"{client.url}|{project['id']}|{project.get('created_at')}".encode()).hexdigest()[:16]
    return state / f"push-{key}.jsonl"


def read_journal(path: Path) -> tuple[dict[str, str], list[str | None]]:
    """(spanbank id -> rev of every confirmed chunk, the import task of each chunk begun and never confirmed
    (None: killed before its upload started a task))."""
    begun: dict[int, dict[str, str]] = {}
    tasks: dict[int, str] = {}
    done: dict[str, str] = {}
    # A line torn by a kill is skipped (its chunk counts as begun, not done): ``jsonl.read`` hands bad
    # lines to ``on_error`` instead of raising.  Whatever such a line held, the next push finds the
    # server's count different from the confirmed documents and reconciles.
    for _, rec in jsonl.read(path, on_error=_torn_line):
        if "begin" in rec:
            begun[rec["begin"]] = rec["docs"]
            tasks.pop(rec["begin"], None)
        elif "task" in rec:
            tasks[rec["task"]] = rec["id"]
        elif rec.get("done") in begun:
            done.update(begun.pop(rec["done"]))
    return done, [tasks.get(number) for number in begun]


def _torn_line(line: int, problem: str) -> None:
    """A journal line that does not parse was torn by a kill mid-write: skipped (see :func:`read_journal`)."""


def settle(client: DoccanoClient, task_ids: list[str | None], timeout: float) -> None:
    """Let the import tasks of an interrupted push that still wait in the local broker run first (they will
    run once a worker takes them; reconciling before that would be undone by their copies)."""
    if client.worker is None:
        return  # a remote broker cannot be seen: the count checks after each chunk catch late copies
    for task_id in task_ids:
        if task_id and client.worker.queued_task(task_id):
            with contextlib.suppress(SyncError):  # its own failure is the old push's; reconcile sees the outcome
                client.wait_task(task_id, timeout=timeout)


def append(path: Path, record: dict) -> None:
    with open_private(path) as fh:
        fh.write(orjson.dumps(record) + b"\n")
        fh.flush()
        os.fsync(fh.fileno())


def reset(path: Path, known: dict[str, str]) -> None:
    with atomic_writer(path) as fh:
        fh.write(orjson.dumps({"begin": 0, "docs": known}) + b"\n" + orjson.dumps({"done": 0}) + b"\n")


def reconcile(client: DoccanoClient, project_id: int) -> tuple[dict[str, str], int]:
    """List the server's examples; delete importer-made copies (keeping the oldest); id -> rev on the server."""
    copies: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for ex in client.examples(project_id, limit=500):
        meta = ex.get("meta") or {}
        if isinstance(meta, dict) and meta.get("spanbank_id"):
            copies[meta["spanbank_id"]].append((ex["id"], meta.get("spanbank_rev", "")))
    extra = [eid for found in copies.values() for eid, _ in sorted(found)[1:]]
    for i in range(0, len(extra), 500):
        client.delete_examples(project_id, extra[i:i + 500])
    return {sid: sorted(found)[0][1] for sid, found in copies.items()}, len(extra)
