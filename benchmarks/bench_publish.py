"""Benchmark `spanbank build` against the raw floor: pyarrow JSON parse + parquet write of the same files.

Usage: uv run python benchmarks/bench_publish.py [N_DOCS] [--repeat R] (default 100000 documents, R = 3)

Generates an N-document corpus (about 2 KB of text, ~12 entities, 3 events with arguments and 2
attributions per document, silver; every 10th document also gold) in a temp folder (in a child
process, so its memory stays out of ours), then times in this one process R interleaved rounds of
the three stages (so a slow spell of a shared machine hits them alike), keeping each stage's best:

- floor, inferred: ``pyarrow.json.read_json`` of documents.jsonl and annotations.jsonl with type
  inference + ``pq.write_table`` (snappy) of each table;
- floor, explicit: the same with the corpus format's explicit schemas (no inference; usually faster);
- floor, explicit, for the Hub: the same written as the build must write for Hub uploads (content-defined
  chunking and the page index, :data:`spanbank.publish.parquet.CDC_OPTIONS`), the work the plain floors leave out;
- build: ``publish.build`` (streaming, all four configs, card, project files), parquet with
  content-defined chunking and the page index;
- the same build without content-defined chunking and page index (the writer before issue 13).

The ratio is build / the faster plain floor (the target), also shown against the floor written for the Hub.  MB/s is corpus JSONL MB per second.  Peak RSS per stage is
VmHWM, reset through ``/proc/self/clear_refs`` before each stage (so stages do not hide each other's
peaks), shown with the RSS the stage started from.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import pyarrow.json as paj  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from spanbank import publish  # noqa: E402
from spanbank.publish import parquet as parquet_mod  # noqa: E402  (CDC_OPTIONS is read by each shard writer)
from spanbank.publish import card  # noqa: E402,F401  (imported lazily by build: keep its import out of the timing)
from spanbank.publish.read import ANNOTATIONS, DOCUMENTS  # noqa: E402
from spanbank.model import document_id  # noqa: E402
from spanbank.schema import load_schema  # noqa: E402
from spanbank.store import dumps, open_corpus  # noqa: E402

WORDS = ("the minister said on Monday that forces attacked a base near the city while officials in Baghdad "
         "reported injuries and the agency told reporters \U0001f642 that q\u0323uds units denied it").split()
CDC = parquet_mod.CDC_OPTIONS
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


def _status_mb(key: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak() -> float:
    """Reset VmHWM (peak RSS) to the current RSS; returns the current RSS in MB."""
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    return _status_mb("VmRSS")


def floor(folder: Path, out: Path, explicit: bool, hub: bool = False) -> None:
    """Raw pyarrow: parse both corpus files, write each as one snappy parquet file (``hub``: with CDC + page index)."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    for name, schema in (("documents", DOCUMENTS), ("annotations", ANNOTATIONS)):
        options = paj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore") if explicit else None
        table = paj.read_json(folder / f"{name}.jsonl", parse_options=options)
        extra = {"use_content_defined_chunking": CDC, "write_page_index": True} if hub else {}
        pq.write_table(table, out / f"{name}.parquet", compression="snappy", **extra)
        del table


def timed(run) -> tuple[float, float, float]:
    """(seconds, peak RSS MB, RSS MB at the start) of one ``run()``."""
    start = reset_peak()
    t = time.perf_counter()
    run()
    return time.perf_counter() - t, _status_mb("VmHWM"), start


def main(n: int, repeat: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-publish-"))
    try:
        t = time.perf_counter()
        child = multiprocessing.Process(target=generate, args=(work / "corpus", n))
        child.start()
        child.join()
        corpus = open_corpus(work / "corpus")
        mb = sum(p.stat().st_size for p in (corpus.documents_path, corpus.annotations_path)) / 1e6
        print(f"corpus: {n} documents, {mb:.1f} MB JSONL (generated in {time.perf_counter() - t:.1f} s)")
        schema = load_schema()
        reports = []
        def build(cdc: bool) -> None:
            parquet_mod.CDC_OPTIONS = CDC if cdc else False  # read by the parquet writer options of each shard
            reports.append(publish.build(corpus, schema, work / "hf", card={"license": "cc-by-4.0"}))

        stages = {"floor, inferred schema (read_json + write_table)": lambda: floor(corpus.path, work / "floor", False),
                  "floor, explicit schema (read_json + write_table)": lambda: floor(corpus.path, work / "floor", True),
                  "floor, explicit schema, written with CDC + page index": lambda: floor(corpus.path, work / "floor", True, True),
                  "build (all four configs + card + project files)": lambda: build(True),
                  "build without CDC and page index (the writer before)": lambda: build(False)}
        runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name in stages}
        for r in range(repeat):  # interleaved rounds: a slow spell of a shared machine hits every stage alike
            for name, run in stages.items():
                runs[name].append(timed(run))
            inferred, explicit, hub, built, plain = (runs[name][-1][0] for name in stages)
            print(f"round {r + 1}: " + ", ".join(f"{s:.2f} s" for s in (inferred, explicit, hub, built, plain))
                  + f"; build / floor {built / min(inferred, explicit):.2f}x, without CDC "
                  f"{plain / min(inferred, explicit):.2f}x; build / Hub floor {built / hub:.2f}x; load {os.getloadavg()[0]:.1f}")
        best = {}
        for name, results in runs.items():
            best[name] = min(s for s, _, _ in results)
            peak = max(p for _, p, _ in results)
            print(f"{name}: {best[name]:.2f} s, {mb / best[name]:.1f} MB/s, peak RSS {peak:.0f} MB "
                  f"(from {min(s for _, _, s in results):.0f} MB)")
        out_mb = sum(p.stat().st_size for p in (work / "hf").rglob("*.parquet")) / 1e6
        print(f"build output: {out_mb:.1f} MB parquet, rows {reports[-1].num_examples}")
        inferred, explicit, hub, built, plain = best.values()
        base = min(inferred, explicit)
        print(f"ratio build / floor (best of {repeat}): {built / base:.2f}x (target <= 1.5x; {built / inferred:.2f}x "
              f"against the inferred floor); without CDC and page index {plain / base:.2f}x; build / the floor "
              f"written with CDC + page index {built / hub:.2f}x; load average {os.getloadavg()}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("n", nargs="?", type=int, default=100_000, help="documents to generate")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds of all stages (best is kept)")
    args = parser.parse_args()
    main(args.n, args.repeat)
