"""Push and pull N generated documents vs a raw bulk import / export of the same JSONL, same server, same run.

Usage:  uv run python benchmarks/bench_doccano.py [N=10000] [--chunk-size 10000]
Starts its own local server in a temporary state folder (the install in .spanbank/doccano is reused) and
stops it at the end.  Prints docs/s, the ratios push/raw-import and pull/raw-export, and client peak RSS.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

from spanbank.doccano import merge, server
from spanbank.doccano import project as setup
from spanbank.doccano import pull as pulling
from spanbank.doccano import push as pushing
from spanbank.formats import doccano as fmt
from spanbank.doccano.client import DoccanoClient
from spanbank.model import AnnotationSet, Argument, Attribution, Document, Event, Provenance, Span, document_id
from spanbank.schema import load_schema
from spanbank.store import open_corpus

ROOT = Path(__file__).resolve().parents[1]
PROV = Provenance("bench.v1", "silver", "2026-01-01T00:00:00Z", "machine")
SENTENCE = ("On Monday 😀 General Ghani met Prime Minister al-Kadhimi in Baghdad, the Associated Press reported, "
            "after drones attacked the residence. ")


def make_doc(i: int) -> Document:
    """~2 KB, 10 spans (one overlapping), 3 relations."""
    text = f"Item {i}. " + SENTENCE * 14
    def sp(sid, needle, label, layer, start_at=0):
        s = text.index(needle, start_at)
        return Span(sid, s, s + len(needle), needle, label, layer, PROV)
    spans = (sp("1", "Ghani", "PER", "entities"), sp("2", "al-Kadhimi", "PER", "entities"),
             sp("3", "Baghdad", "GPE", "entities"), sp("4", "met", "Contact:Meet", "events"),
             sp("5", "Monday", "TIME", "entities"), sp("6", "Associated Press", "ORG", "entities"),
             sp("7", "the Associated Press", "SOURCE", "attribution"), sp("8", "reported", "CUE", "attribution"),
             sp("9", "attacked", "Conflict:Attack", "events"), sp("10", "drones", "WEA", "entities"))
    content = Span("11", 0, text.index(", the Associated"), text[:text.index(", the Associated")], "CONTENT",
                   "attribution", PROV)
    spans = spans[:9] + (content,)
    event = Event("e", "4", "Contact:Meet", (Argument("Entity", "1"),), PROV)
    attribution = Attribution("a", "8", "7", "11", PROV)
    doc = Document(document_id(text), text)
    return doc.with_set(AnnotationSet("silver", spans, (event,), (attribution,)))


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", type=int, nargs="?", default=10000)
    parser.add_argument("--chunk-size", type=int, default=pushing.DEFAULT_CHUNK)
    args = parser.parse_args()
    os.environ.setdefault("SPANBANK_DOCCANO_TOOLS", str(ROOT / ".spanbank" / "doccano"))
    with tempfile.TemporaryDirectory(prefix="bench-doccano-") as tmp:
        tmp = Path(tmp)
        state = tmp / "doccano"
        info = server.ensure_up(state)
        try:
            run(tmp, state, info, args.n, args.chunk_size)
        finally:
            server.stop(state)


def run(tmp: Path, state: Path, info, n: int, chunk_size: int) -> None:
    """Each contender is bracketed by its baseline (raw import, push, raw import; raw export, pull, raw export).

    The same server slows down as it fills (a second 10k import into it measured 25% slower than the
    first), so a baseline run only before or only after the contender would favour one side; the
    ratio uses the mean of the two baseline runs.
    """
    schema = load_schema()
    corpus = open_corpus(tmp / "corpus")
    with corpus.lock():
        corpus.write(make_doc(i) for i in range(n))
    raw = tmp / "raw.jsonl"
    with raw.open("wb") as fh:
        fh.writelines(fmt.iter_payloads(corpus.documents(), info.username))  # exactly the rows push sends
    with DoccanoClient.login(info.url, info.username, info.password()) as client:
        projects = {}
        for name in ("raw-1", "sync", "raw-2"):
            setup.ensure_project(client, schema, name)
            projects[name] = setup.require_project(client, name)["id"]
        sync_project = setup.require_project(client, "sync")
        load = [os.getloadavg()[0]]
        t_import1, _ = timed(lambda: client.wait_task(client.upload(projects["raw-1"], raw)))
        t_push, push = timed(lambda: pushing.push(client, sync_project, corpus, state=state, schema=load_schema(), chunk_size=chunk_size))
        t_import2, _ = timed(lambda: client.wait_task(client.upload(projects["raw-2"], raw)))
        load.append(os.getloadavg()[0])
        t_export1, _ = timed(lambda: client.export(projects["raw-1"], tmp / "raw-1.zip"))
        t_pull, pull = timed(lambda: merge.commit(corpus, pulling.read(client, sync_project, corpus, schema)))
        t_export2, _ = timed(lambda: client.export(projects["raw-1"], tmp / "raw-2.zip"))
        load.append(os.getloadavg()[0])
        assert {client.count_examples(pid) for pid in projects.values()} == {n}
    assert push.uploaded == n and pull.examples == pull.unchanged == n, (push, pull)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"documents: {n} ({raw.stat().st_size / n / 1024:.1f} KB JSONL each), chunk size {chunk_size}, "
          f"{push.chunks} chunk(s) pushed")
    t_import, t_export = (t_import1 + t_import2) / 2, (t_export1 + t_export2) / 2
    print(f"raw bulk import: {t_import:7.1f} s  {n / t_import:7.1f} docs/s  (upload of the JSONL + the import task; "
          f"runs before / after push: {t_import1:.1f} / {t_import2:.1f} s)")
    print(f"spanbank push:   {t_push:7.1f} s  {n / t_push:7.1f} docs/s  ratio {t_import / t_push:.2f}x of raw import")
    print(f"raw export:      {t_export:7.1f} s  {n / t_export:7.1f} docs/s  (export task + download of the zip; "
          f"runs before / after pull: {t_export1:.1f} / {t_export2:.1f} s)")
    print(f"spanbank pull:   {t_pull:7.1f} s  {n / t_pull:7.1f} docs/s  ratio {t_export / t_pull:.2f}x of raw export")
    print(f"client peak RSS: {peak:.0f} MB")
    print(f"load average (1 min) at start / after the imports / after the exports: "
          f"{' / '.join(f'{x:.1f}' for x in load)} on {os.cpu_count()} cores (other processes skew the ratios; rerun when it is high)")


if __name__ == "__main__":
    main()
