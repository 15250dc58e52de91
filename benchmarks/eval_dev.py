"""v1 vs v2 pre-annotators per layer on development gold, with spanbank's own scorer.

    uv run python benchmarks/eval_dev.py [--systems v1,v2] [--labels] [--model NAME_OR_PATH] [--splits tune,...] [--no-seed]

Data: the passages composed for spanbank under ``tests/fixtures/dev_gold/`` (attribution and
events; ``tune`` = looked at while writing the v2 rules, ``heldout`` = not looked at, ``fresh`` = written
after the v2 rules and scored once, ``fresh2`` = events with value roles, written before the value-role
rules and scored once) and the seed
article's gold in ``corpus/`` (every layer; the v1 lexicons were reviewed on it).  Each system runs
its own entities -> events -> attribution chain (events attach to the entity layer's spans), from
one spaCy parse per document.  All numbers are development numbers, not test scores.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from spanbank import nlp
from spanbank.annotate.agents import run_agents
from spanbank.evaluate import evaluate, render_table
from spanbank.schema import load_schema
from spanbank.store import open_corpus

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
import dev_gold  # noqa: E402

COLUMNS = {
    "attribution": [("span", "exact"), ("span", "overlap"), ("relation", "exact"), ("relation", "overlap")],
    "events": [("trigger_identification", "exact"), ("trigger_classification", "exact"),
               ("argument_identification", "exact"), ("argument_role", "exact")],
    "entities": [("span", "exact"), ("span", "overlap")],
}
SHORT = {"span": "spans", "relation": "relations", "trigger_identification": "trig-id",
         "trigger_classification": "trig-cls", "argument_identification": "arg-id", "argument_role": "arg-role"}


def agents(version: str) -> list[str]:
    return [f"spanbank.{layer}.{version}" for layer in ("entities", "events", "attribution")]


def scored(docs, layer: str, version: str, labels: bool, model: str = nlp.DEFAULT_MODEL) -> dict:
    out = list(run_agents(docs, agents(version), model, schema=load_schema()))
    result = evaluate(out, out, [layer])
    if labels:
        print(f"== {layer} {version}\n{render_table(result)}\n")
    return result["layers"][layer]


def row(data: dict, layer: str) -> str:
    cells = []
    for level, kind in COLUMNS[layer]:
        s = data["levels"][level][kind]["ALL"]
        cells.append(f"{s['precision']:.3f}/{s['recall']:.3f}/{s['f1']:.3f}")
    return " | ".join(cells)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--systems", default="v1,v2", help="comma-separated versions to compare (default v1,v2)")
    ap.add_argument("--labels", action="store_true", help="print the per-label tables too")
    ap.add_argument("--model", default=nlp.DEFAULT_MODEL, help="spaCy pipeline (installed package or path)")
    ap.add_argument("--splits", default=",".join(dev_gold.SPLITS),
                    help=f"comma-separated dev-gold splits (default {','.join(dev_gold.SPLITS)}); a layer without "
                         "passages in a split skips it")
    ap.add_argument("--no-seed", action="store_true", help="leave out the seed article's gold")
    args = ap.parse_args(argv)
    versions = [v.strip() for v in args.systems.split(",") if v.strip()]
    seed = list(open_corpus(ROOT / "corpus").documents())
    for layer in ("attribution", "events", "entities"):
        head = " | ".join(f"{SHORT[lv]} {kind} P/R/F1" for lv, kind in COLUMNS[layer])
        print(f"\n### {layer}\n| data | system | {head} |\n|---|---|" + "---|" * len(COLUMNS[layer]))
        splits = [s.strip() for s in args.splits.split(",") if s.strip()] if layer != "entities" else []
        sets = [(f"dev {split}", docs) for split in splits if (docs := dev_gold.load(layer, split))]
        for name, docs in sets + ([] if args.no_seed else [("seed gold", seed)]):
            for version in versions:
                data = scored(docs, layer, version, args.labels, args.model)
                print(f"| {name} ({data['documents']} docs) | {version} | {row(data, layer)} |")


if __name__ == "__main__":
    sys.exit(main())
