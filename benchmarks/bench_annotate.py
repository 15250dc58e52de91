"""Throughput of ``spanbank annotate`` (all layers) against bare ``nlp.pipe`` in the same run.

Usage:  uv run python benchmarks/bench_annotate.py [N_DOCS] [--processes 1,2] [--batch-size 64]
        uv run python benchmarks/bench_annotate.py [N_DOCS] --engine ray [--workers 2]   (scripts/bench annotate ...)

Generates N news-like documents by recombining the seed article's sentences (deterministic),
then for each process count times (a) bare ``nlp.pipe`` over the texts with the same model,
batch size and process count and (b) ``annotate`` over the same documents, all layers, draining
the stream.  Prints docs/s, words/s, the ratio annotate / bare (target >= 0.8) and the speed-up
from 1 to 2 processes, and RSS (this process) after each quarter of the stream plus the peak, to
show memory stays flat as the corpus grows.  Timing is wall clock; run on an idle machine.

``--engine ray``: the same documents written to a temporary corpus, annotated (all layers, stream
drained, nothing written) by the local engine with ``--workers`` spaCy processes (multiprocess
``nlp.pipe``) and by the Ray engine with ``--workers`` actors on a local Ray instance of as many CPUs.
Prints both rates, the ratio Ray / local (goal >= 0.85) with and without Ray's start-up, the peak
RSS of each worker process (sampled every 0.2 s) and the load average before and after.
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
from spanbank.schema import load_schema

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
    for _ in annotate(generate(n, sentences), processes=processes, batch_size=batch, now="2024-01-01T00:00:00Z", schema=load_schema()):
        done += 1
        if done in marks:
            rss.append((done, proc.memory_info().rss / 2**20))
    return time.perf_counter() - t0, rss


class PeakRss:
    """Peak RSS (MiB) per descendant process whose command line contains ``marker``, sampled in a thread."""

    def __init__(self, marker: str) -> None:
        import threading

        self.marker, self.peak, self._stop = marker, {}, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "PeakRss":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            for proc in psutil.Process().children(recursive=True):
                try:
                    if self.marker in " ".join(proc.cmdline()):
                        self.peak[proc.pid] = max(self.peak.get(proc.pid, 0.0), proc.memory_info().rss / 2**20)
                except psutil.Error:
                    continue

    def summary(self) -> str:
        return ", ".join(f"{m:.0f}" for m in sorted(self.peak.values())) + " MiB" if self.peak else "none seen"


def bench_ray(n: int, sentences: list[str], workers: int, batch: int) -> None:
    import os
    import tempfile

    from spanbank.annotate.ray_engine import annotate_corpus, import_ray
    from spanbank.store import open_corpus

    print(f"bench_annotate --engine ray: {n} docs, {workers} workers, batch {batch}, "
          f"load average {os.getloadavg()[0]:.2f} (machine has {os.cpu_count()} CPUs)")
    with tempfile.TemporaryDirectory() as tmp:
        corpus = open_corpus(Path(tmp) / "corpus")
        with corpus.lock():
            corpus.write(generate(n, sentences))
        now = "2024-01-01T00:00:00Z"
        with PeakRss("") as local_mem:  # every child: nlp.pipe's worker processes (Ray is not started yet)
            t0 = time.perf_counter()
            local_n = sum(1 for _ in annotate(corpus.documents(), processes=workers, batch_size=batch, now=now, schema=load_schema()))
            t_local = time.perf_counter() - t0
        ray = import_ray()
        t0 = time.perf_counter()
        ray.init(address="local", num_cpus=workers, include_dashboard=False, log_to_driver=False)
        t_init = time.perf_counter() - t0
        try:
            with PeakRss("AnnotateBlocks") as ray_mem:
                t0 = time.perf_counter()
                ray_n = sum(1 for _ in annotate_corpus(corpus, batch_size=batch, now=now, workers=workers, schema=load_schema()))
                t_ray = time.perf_counter() - t0
        finally:
            ray.shutdown()
    assert local_n == ray_n == n
    print(f"local  ({workers} processes): {n / t_local:6.2f} docs/s  ({t_local:.1f} s)")
    print(f"ray    ({workers} actors):    {n / t_ray:6.2f} docs/s  ({t_ray:.1f} s run, + {t_init:.1f} s ray.init)")
    print(f"ratio ray/local: {t_local / t_ray:.2f} without start-up, {t_local / (t_ray + t_init):.2f} with it (goal >= 0.85)")
    print(f"peak RSS per worker: local {local_mem.summary()}; ray {ray_mem.summary()}")
    print(f"driver peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB; "
          f"load average after: {os.getloadavg()[0]:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("n", type=int, nargs="?", default=2000, help="documents (default 2000)")
    ap.add_argument("--processes", default="1,2", help="comma-separated process counts (default 1,2)")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--engine", choices=["local", "ray"], default="local", help="ray: compare the Ray engine with local")
    ap.add_argument("--workers", type=int, default=2, help="with --engine ray: CPUs for both engines (default 2)")
    args = ap.parse_args()
    sentences = seed_sentences()
    if args.engine == "ray":
        return bench_ray(args.n, sentences, args.workers, args.batch_size)
    nlp.load_model(nlp.DEFAULT_MODEL)
    list(annotate(generate(4, sentences), now="2024-01-01T00:00:00Z", schema=load_schema()))  # warm up: model, lexicons, schema
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
