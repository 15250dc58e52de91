"""How much of a new release's parquet the Hub would have to upload: content-defined chunks that changed.

Usage: uv run python benchmarks/bench_cdc.py [N_DOCS] (default 10000)

Builds release A from an N-document generated corpus (the generator of bench_publish; its documents'
``first_release`` stamped 1.0.0 as ``spanbank release`` does), then releases B that differ from A by 1% of
the documents:

- ``edit``: every 100th document (by id) gets one more entity span (an annotation correction);
- ``edit-run``: the same correction on 1% of the documents that are consecutive in id order (a
  correction round on one stretch of the files);
- ``add``: N/100 new, not yet released documents are added (their hashed ids fall anywhere in the sorted
  files; the build writes them to shards of their own, after the released ones).

Each pair is built twice: with the parquet writer's content-defined chunking and page index (what
``spanbank build`` does, as ``datasets`` does for Hub uploads) and without them (the writer before).

What is measured: the Hub deduplicates uploads by content-defined chunks of each file's bytes
(Xet).  We cut every parquet file of A and of B into chunks with a gear rolling hash of the same
kind (a byte's gear value shifted left once per following byte, 64-bit, so the hash covers the last
64 bytes; a chunk ends where the top 16 bits are zero, i.e. ~64 KiB average, clamped to 8 KiB min
and 128 KiB max; our gear table is seeded random numbers, not Xet's own table, so single boundaries
differ from the Hub's but the statistics are the same).  "changed" is the share of B's parquet bytes
in chunks whose sha256 is in no chunk of A (any file) - what an upload of B would send.  "files" is
the share of B's bytes in files whose bytes are in no file of A - what a whole-file (content-addressed)
upload would send.  Then the same measure on one plain text column, where the pages are
the only structure (``--text-column`` runs only that).
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import shutil
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import numpy as np  # noqa: E402

from bench_publish import generate  # noqa: E402
from spanbank import publish  # noqa: E402
from spanbank.publish import parquet as parquet_mod  # noqa: E402  (CDC_OPTIONS is read by each shard writer)
from spanbank.release import stamp_first_release  # noqa: E402
from spanbank.schema import load_schema  # noqa: E402
from spanbank.store import open_corpus  # noqa: E402

TARGET, MIN_CHUNK, MAX_CHUNK = 64 * 1024, 8 * 1024, 128 * 1024
MASK = np.uint64(((TARGET - 1) << (64 - 16)) & (2**64 - 1))  # the top 16 bits
GEAR = np.random.default_rng(0x5EED).integers(0, 2**64, 256, dtype=np.uint64)
WINDOW = 64
BLOCK = 4 * 1024 * 1024
CDC = parquet_mod.CDC_OPTIONS  # what spanbank build writes with
VARIANTS = ("edit", "edit-run", "add")


def candidates(data: bytes) -> np.ndarray:
    """Positions i (chunk ends after byte i) where the 64-byte-window gear hash has its top 16 bits zero."""
    arr = np.frombuffer(data, np.uint8)
    out = []
    for lo in range(0, len(arr), BLOCK):
        start = max(0, lo - (WINDOW - 1))
        g = GEAR[arr[start:lo + BLOCK]]
        h = np.zeros(len(g), np.uint64)
        for k in range(WINDOW):  # h[i] = sum_k gear[b[i-k]] << k  (mod 2**64)
            h[k:] += g[:len(g) - k] << np.uint64(k)
        hits = np.flatnonzero((h & MASK) == 0) + start
        out.append(hits[hits >= max(lo, WINDOW - 1)])
    return np.concatenate(out) if out else np.zeros(0, np.int64)


def chunks(data: bytes) -> list[tuple[str, int]]:
    """(sha256, length) of each content-defined chunk of ``data``."""
    cuts, start = [], 0
    for c in candidates(data):
        end = int(c) + 1
        while end - start > MAX_CHUNK:
            cuts.append(start + MAX_CHUNK)
            start += MAX_CHUNK
        if end - start >= MIN_CHUNK:
            cuts.append(end)
            start = end
    while len(data) - start > MAX_CHUNK:
        cuts.append(start + MAX_CHUNK)
        start += MAX_CHUNK
    if start < len(data):
        cuts.append(len(data))
    out, prev = [], 0
    for end in cuts:
        out.append((hashlib.sha256(data[prev:end]).hexdigest(), end - prev))
        prev = end
    return out


def parquet_files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.parquet"))}


def compare(a: Path, b: Path) -> tuple[float, float, int]:
    """(share of B's bytes in chunks not in A, share of B's bytes in files not in A, B's bytes)."""
    old, new = parquet_files(a), parquet_files(b)
    known = {h for data in old.values() for h, _ in chunks(data)}
    total = sum(len(d) for d in new.values())
    sent, seen = 0, set()
    for data in new.values():
        for h, n in chunks(data):
            if h not in known and h not in seen:
                sent += n
                seen.add(h)
    known_files = {hashlib.sha256(d).digest() for d in old.values()}  # whole-file dedup is by content, not by name
    files = sum(len(d) for d in new.values() if hashlib.sha256(d).digest() not in known_files)
    return sent / total, files / total, total


def edit(folder: Path, run: bool = False) -> None:
    """One more entity span (on the word after the title) in every 100th document, or (``run``) in a run
    of 1% of the documents that are consecutive in id order."""
    corpus = open_corpus(folder)
    docs = list(corpus.documents())
    changed, n = [], len(docs)
    for i, doc in enumerate(docs):
        if (n // 2 <= i < n // 2 + max(1, n // 100)) if run else i % 100 == 0:
            at = doc.text.index(" ") + 1
            word = doc.text[at:].split(" ", 1)[0].rstrip(".")
            aset = doc.annotations.get("gold") or doc.annotations["silver"]
            prov = aset.spans[0].provenance
            span = doc.make_span("T999", at, at + len(word), "TIME", "entities", prov)
            doc = doc.with_set(type(aset)(aset.name, aset.spans + (span,), aset.events, aset.attributions))
        changed.append(doc)
    with corpus.lock():
        corpus.write(changed)


def add(folder: Path, n: int) -> None:
    """N/100 new documents (generated with another seed), merged into the sorted files."""
    extra = folder.parent / "extra"
    generate(extra, max(1, n // 100), seed=1)
    for name in ("documents.jsonl", "annotations.jsonl"):
        lines = (folder / name).read_bytes().splitlines(keepends=True) + (extra / name).read_bytes().splitlines(keepends=True)
        key = (lambda line: line.split(b'"id":"', 1)[1][:32]) if name == "documents.jsonl" else \
            (lambda line: line.split(b'"doc":"', 1)[1][:32])
        (folder / name).write_bytes(b"".join(sorted(lines, key=key)))
    shutil.rmtree(extra)


def text_column(n: int = 20_000) -> None:
    """The effect in isolation: one string column of n ~1.8 KB texts, 1% inserted at random or as one run."""
    import io
    import random

    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = random.Random(0)
    words = "the minister said on Monday that forces attacked a base near the city while officials".split()
    texts = [" ".join(rng.choices(words, k=300)) + f" {i}" for i in range(n)]
    scattered = list(texts)
    for j in range(n // 100):
        scattered.insert(rng.randrange(len(scattered)), " ".join(rng.choices(words, k=300)) + f" x{j}")
    run = texts[:n // 2] + [f"y{j} " + texts[j] for j in range(n // 100)] + texts[n // 2:]

    def write(rows: list[str], cdc: bool) -> bytes:
        buf = io.BytesIO()
        pq.write_table(pa.table({"text": rows}), buf, compression="snappy", use_dictionary=False,
                       use_content_defined_chunking=CDC if cdc else False)
        return buf.getvalue()

    print(f"one text column, {n} rows: 1% inserted | CDC: changed | without: changed")
    for name, rows in (("at random positions", scattered), ("as one run in the middle", run), ("at the end", texts + run[n // 2:n // 2 + n // 100])):
        shares = []
        for cdc in (True, False):
            old, new = write(texts, cdc), write(rows, cdc)
            known = {h for h, _ in chunks(old)}
            shares.append(sum(k for h, k in chunks(new) if h not in known) / len(new))
        print(f"{name} | {shares[0]:.1%} | {shares[1]:.1%}")


def main(n: int, sizes: list[tuple[int, int]]) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-cdc-"))
    schema = load_schema()
    try:
        child = multiprocessing.Process(target=generate, args=(work / "a", n))
        child.start()
        child.join()
        released = open_corpus(work / "a")
        with released.lock():  # release A: its documents' first_release is recorded (B's added ones have none)
            stamp_first_release(released, "1.0.0")
        for variant in VARIANTS:
            shutil.copytree(work / "a", work / variant)
            edit(work / variant, run=variant == "edit-run") if variant.startswith("edit") else add(work / variant, n)
        print(f"corpus: {n} documents; releases differ by 1% of the documents")
        print("variant | parquet writer | B parquet MB | changed chunks (bytes a Hub upload sends) | changed files")
        settings = [CDC] + [{"min_chunk_size": lo * 1024, "max_chunk_size": hi * 1024, "norm_level": 0} for lo, hi in sizes]
        for cdc in [*range(len(settings)), False]:
            parquet_mod.CDC_OPTIONS = settings[cdc] if cdc is not False else False  # read by the writer at each shard
            label = ("plain pages (no CDC, no page index)" if cdc is False else
                     f"CDC {settings[cdc]['min_chunk_size'] // 1024}-{settings[cdc]['max_chunk_size'] // 1024} KiB"
                     + (" (spanbank build = datasets' default)" if cdc == 0 else "") + " + page index")
            for name in ("a", *VARIANTS):
                publish.build(open_corpus(work / name), schema, work / f"hf-{name}-{cdc}", card={"license": "cc-by-4.0"})
            for variant in VARIANTS:
                share, files, total = compare(work / f"hf-a-{cdc}", work / f"hf-{variant}-{cdc}")
                print(f"{variant} | {label} | {total / 1e6:.1f} | {share:.1%} | {files:.1%}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("n", nargs="?", type=int, default=10_000, help="documents to generate")
    parser.add_argument("--cdc", action="append", default=[], metavar="MIN,MAX",
                        help="also measure these page chunk sizes in KiB (e.g. --cdc 16,64)")
    parser.add_argument("--text-column", action="store_true", help="only the one-column experiment")
    args = parser.parse_args()
    if not args.text_column:
        main(args.n, [tuple(int(v) for v in pair.split(",")) for pair in args.cdc])
    text_column()
