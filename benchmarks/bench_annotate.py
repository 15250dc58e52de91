"""Throughput of ``spanbank annotate`` (all layers) against bare ``nlp.pipe`` in the same run.

Usage:  uv run python benchmarks/bench_annotate.py [N_DOCS] [--processes 1,2] [--batch-size 64]

Generates N news-like documents by recombining the seed article's sentences (deterministic),
then for each process count times (a) bare ``nlp.pipe`` over the texts with the same model,
batch size and process count and (b) ``annotate`` over the same documents, all layers, draining
the stream.  Prints docs/s, words/s, the ratio annotate / bare (target >= 0.8) and the speed-up
from 1 to 2 processes, and RSS (this process) after each quarter of the stream plus the peak, to
show memory stays flat as the corpus grows.  Timing is wall clock; run on an idle machine.
"""

from __future__ import annotations

import argparse
import random
import resource
import time
from pathlib import Path
from typing import Iterator

import psutil

from spanbank import ingest, nlp
from spanbank.annotate import annotate
from spanbank.model import Document

SEEDS = Path(__file__).resolve().parents[1] / "seeds"


def seed_sentences() -> list[str]:
    out = []
    for doc in ingest.segment_articles(ingest.read_articles(ingest.expand_paths([SEEDS]))):
        out += [doc.text[s:e] for s, e in doc.sentences]
    return out


def generate(n: int, sentences: list[str], seed: int = 13) -> Iterator[Document]:
    """``n`` documents of 6-14 seed sentences in 2-4 paragraphs, streamed (never all in memory)."""
    rng = random.Random(seed)

    def articles() -> Iterator[ingest.Article]:
        for i in range(n):
            picked = rng.choices(sentences, k=rng.randint(6, 14))
            cut = sorted(rng.sample(range(1, len(picked)), k=min(len(picked) - 1, rng.randint(1, 3))))
            paras = [" ".join(picked[a:b]) for a, b in zip([0, *cut], [*cut, len(picked)])]
            yield ingest.Article(text=f"Report {i}.\n\n" + "\n\n".join(paras), origin=ingest.Origin(f"bench/{i}", ""))

    return ingest.segment_articles(articles())


def bare(n: int, sentences: list[str], processes: int, batch: int) -> tuple[float, int]:
    model = nlp.load_model(nlp.DEFAULT_MODEL)
    texts = (d.text for d in generate(n, sentences))
    words = 0
    t0 = time.perf_counter()
    for doc in model.pipe(texts, batch_size=batch, n_process=processes):
        words += sum(1 for t in doc if not (t.is_punct or t.is_space))
    return time.perf_counter() - t0, words


def full(n: int, sentences: list[str], processes: int, batch: int) -> tuple[float, list[tuple[int, float]]]:
    proc = psutil.Process()
    marks = {max(1, n * q // 4) for q in (1, 2, 3, 4)}
    rss: list[tuple[int, float]] = []
    done = 0
    t0 = time.perf_counter()
    for _ in annotate(generate(n, sentences), processes=processes, batch_size=batch, now="2024-01-01T00:00:00Z"):
        done += 1
        if done in marks:
            rss.append((done, proc.memory_info().rss / 2**20))
    return time.perf_counter() - t0, rss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("n", type=int, nargs="?", default=2000, help="documents (default 2000)")
    ap.add_argument("--processes", default="1,2", help="comma-separated process counts (default 1,2)")
    ap.add_argument("--batch-size", type=int, default=64)
    args = ap.parse_args()
    sentences = seed_sentences()
    nlp.load_model(nlp.DEFAULT_MODEL)
    list(annotate(generate(4, sentences), now="2024-01-01T00:00:00Z"))  # warm up: model, lexicons, schema
    print(f"bench_annotate: {args.n} docs, model {nlp.DEFAULT_MODEL}, batch {args.batch_size}")
    rates = {}
    for p in (int(x) for x in args.processes.split(",")):
        t_bare, words = bare(args.n, sentences, p, args.batch_size)
        t_full, rss = full(args.n, sentences, p, args.batch_size)
        rates[p] = args.n / t_full
        print(f"processes={p}: bare nlp.pipe {args.n / t_bare:8.1f} docs/s {words / t_bare:9.0f} words/s | "
              f"annotate {args.n / t_full:8.1f} docs/s {words / t_full:9.0f} words/s | "
              f"ratio annotate/bare {t_bare / t_full:.2f} (target >= 0.80)")
        print("  RSS after docs: " + ", ".join(f"{d}: {m:.0f} MiB" for d, m in rss))
    if 1 in rates and 2 in rates:
        print(f"annotate speed-up 1 -> 2 processes: {rates[2] / rates[1]:.2f}x")
    print(f"peak RSS (this process): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
