"""Benchmark `spanbank build` against the raw floor: pyarrow JSON parse + parquet write of the same files.

Usage: uv run python benchmarks/bench_publish.py [N_DOCS] (default 100000; e.g. 2000 for a quick run)

Generates an N-document corpus (about 2 KB of text, ~12 entities, 3 events with arguments and 2
attributions per document, silver; every 10th document also gold) in a temp folder, then in this one
process: (1) publish.build (streaming, all four configs, card), peak RSS measured right after it;
(2) the floor: pyarrow.json.read_json of documents.jsonl and annotations.jsonl + pq.write_table.
Prints seconds, MB/s (corpus JSONL MB / s), the ratio build / floor and peak RSS.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import pyarrow.json as paj  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from spanbank import publish  # noqa: E402
from spanbank.model import document_id  # noqa: E402
from spanbank.schema import load_schema  # noqa: E402
from spanbank.store import dumps, open_corpus  # noqa: E402

WORDS = ("the minister said on Monday that forces attacked a base near the city while officials in Baghdad "
         "reported injuries and the agency told reporters \U0001f642 that q\u0323uds units denied it").split()
ENT = (("Baghdad", "GPE"), ("Ghani", "PER"), ("Reuters", "ORG"), ("Monday", "TIME"), ("Erbil", "GPE"))


def sentence(rng: random.Random) -> str:
    words = rng.choices(WORDS, k=rng.randint(12, 25)) + [rng.choice(ENT)[0] for _ in range(3)]
    rng.shuffle(words)
    return " ".join(words).capitalize() + "."


def generate(folder: Path, n: int, seed: int = 0) -> None:
    """Write documents.jsonl / annotations.jsonl directly in the store's record format (sorted by id)."""
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        text = f"Report {i}\n\n" + " ".join(sentence(rng) for _ in range(12))
        docs.append((document_id(text), text))
    docs.sort()
    folder.mkdir(parents=True)
    prov = {"agent": "spanbank.entities.v1", "kind": "machine", "status": "silver", "time": "2026-11-27T00:00:00Z"}
    gold = {"agent": "alice", "kind": "human", "status": "gold", "time": "2026-11-27T00:00:00Z"}
    with (folder / "documents.jsonl").open("wb") as dfh, (folder / "annotations.jsonl").open("wb") as afh:
        for k, (doc_id, text) in enumerate(docs):
            tokens, sents, pos = [], [], 0
            for word in text.split(" "):
                for piece in word.split("\n"):
                    if piece:
                        tokens.append([pos, pos + len(piece)])
                    pos += len(piece) + 1
            start = 0
            for j, ch in enumerate(text):
                if ch == "." or j == len(text) - 1:
                    seg = text[start:j + 1]
                    lead = len(seg) - len(seg.lstrip())
                    sents.append([start + lead, j + 1])
                    start = j + 1
            dfh.write(dumps({"id": doc_id, "text": text, "date": "2024-01-01", "title": f"Report {k}",
                             "paragraphs": [[0, len(text)]], "sections": [], "sentences": sents, "tokens": tokens}))
            for set_name, p in (("gold", gold), ("silver", prov)) if k % 10 == 0 else (("silver", prov),):
                for rec in annotations(doc_id, text, set_name, p):
                    afh.write(dumps(rec))


def annotations(doc_id: str, text: str, set_name: str, prov: dict) -> list[dict]:
    base = {"doc": doc_id, "set": set_name}
    spans, ents = [], []
    for name, label in ENT:
        at = 0
        while (at := text.find(name, at)) >= 0 and len(ents) < 12:
            sid = f"T{len(spans):03d}"
            spans.append({**base, "kind": "span", "id": sid, "layer": "entities", "label": label, "start": at,
                          "end": at + len(name), "text": name, "prov": prov})
            ents.append((sid, label))
            at += len(name)
    events, atts = [], []
    for e, word in enumerate(("attacked", "injuries", "base")[:3]):
        at = text.find(word)
        if at < 0:
            continue
        etype = "Conflict:Attack" if word != "injuries" else "Life:Injure"
        sid = f"T{len(spans):03d}"
        spans.append({**base, "kind": "span", "id": sid, "layer": "events", "label": etype, "start": at,
                      "end": at + len(word), "text": word, "prov": prov})
        args = [{"role": "Place", "span": s} for s, lab in ents[:2] if lab == "GPE"]
        events.append({**base, "kind": "event", "id": f"E{e}", "trigger": sid, "type": etype, "arguments": args, "prov": prov})
    for a, cue in enumerate(("said", "told")):
        at = text.find(cue)
        if at < 0 or at + len(cue) + 2 >= len(text):
            continue
        ids = []
        for label, (s, e) in (("CUE", (at, at + len(cue))), ("CONTENT", (at + len(cue) + 1, min(len(text), at + len(cue) + 20)))):
            sid = f"T{len(spans):03d}"
            spans.append({**base, "kind": "span", "id": sid, "layer": "attribution", "label": label, "start": s,
                          "end": e, "text": text[s:e], "prov": prov})
            ids.append(sid)
        atts.append({**base, "kind": "attribution", "id": f"A{a}", "cue": ids[0], "source": None, "content": ids[1],
                     "parent": None, "prov": prov})
    return sorted(spans, key=lambda r: r["id"]) + events + atts


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def floor(folder: Path, out: Path) -> float:
    out.mkdir()
    t = time.perf_counter()
    for name in ("documents", "annotations"):
        table = paj.read_json(folder / f"{name}.jsonl")
        pq.write_table(table, out / f"{name}.parquet", compression="snappy")
        del table
    return time.perf_counter() - t


def main(n: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-publish-"))
    try:
        t = time.perf_counter()
        child = multiprocessing.Process(target=generate, args=(work / "corpus", n))  # keeps its memory out of our peak RSS
        child.start()
        child.join()
        corpus = open_corpus(work / "corpus")
        mb = sum(p.stat().st_size for p in (corpus.documents_path, corpus.annotations_path)) / 1e6
        print(f"corpus: {n} documents, {mb:.1f} MB JSONL (generated in {time.perf_counter() - t:.1f} s)")
        schema = load_schema()
        rss_before = peak_rss_mb()
        report = publish.build(corpus, schema, work / "hf")
        rss_build = peak_rss_mb()
        base = floor(work / "corpus", work / "floor")
        out_mb = sum(p.stat().st_size for p in (work / "hf").rglob("*.parquet")) / 1e6
        print(f"build: {report.seconds:.2f} s, {mb / report.seconds:.1f} MB/s, {out_mb:.1f} MB parquet, "
              f"rows {report.num_examples}")
        print(f"floor (pyarrow read_json + write_table): {base:.2f} s, {mb / base:.1f} MB/s")
        print(f"ratio build / floor: {report.seconds / base:.2f}x (target <= 1.5x)")
        print(f"peak RSS: {rss_before:.0f} MB before build, {rss_build:.0f} MB after build "
              f"(+{rss_build - rss_before:.0f} MB), {peak_rss_mb():.0f} MB after floor")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
