"""Entity P/R/F1 on ../shared/eval/gum-news-brat: raw spaCy vs spanbank.entities.v1 and .v2, end to end.

    uv run python benchmarks/eval_gum.py [N_DOCS] [--gum PATH] [--labels] [--model NAME_OR_PATH]

Steps (in a temporary corpus): ingest the GUM .txt files, pre-annotate entities (silver, the
default pre-annotator; then each of ``ENTITY_AGENTS`` re-run on the same documents), run the bare spaCy model over the same texts into a ``raw``
set (OntoNotes labels as spaCy gives them), import the brat gold through
``schema/label-maps/gum.yaml``, then score both sets against the gold after mapping types onto
GUM's PER / ORG / LOC (GPE, FAC -> LOC; types GUM does not keep are dropped).  GUM conventions
differ from ours (titles and leading "the" included, groups typed person): read the numbers as
relative.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from spanbank import formats, ingest, nlp
from spanbank.annotate import annotate
from spanbank.annotate.agents import run_agents
from spanbank.evaluate import evaluate, render_table
from spanbank.model import AnnotationSet, Provenance
from spanbank.schema import load_schema
from spanbank.store import open_corpus

ROOT = Path(__file__).resolve().parents[1]
GUM = ROOT.parent / "shared" / "eval" / "gum-news-brat"
# Raw spaCy (OntoNotes) -> GUM; NORP ("Afghan", "Muslims") has no GUM counterpart among kept mentions.
RAW_MAP = {"PERSON": "PER", "ORG": "ORG", "GPE": "LOC", "LOC": "LOC", "FAC": "LOC", "NORP": None, "DATE": None,
           "TIME": None, "CARDINAL": None, "ORDINAL": None, "QUANTITY": None, "MONEY": None, "PERCENT": None,
           "EVENT": None, "WORK_OF_ART": None, "LAW": None, "LANGUAGE": None, "PRODUCT": None}
# The registered entity pre-annotators compared (each re-run on the same ingested documents).
ENTITY_AGENTS = ("spanbank.entities.v1", "spanbank.entities.v2")
# spanbank schema -> GUM
SCHEMA_MAP = {"GPE": "LOC", "FAC": "LOC", "VEH": None, "WEA": None, "TIME": None}


def raw_spacy(docs, model: str = nlp.DEFAULT_MODEL):
    """The documents with a ``raw`` set: every spaCy entity, label as spaCy gives it."""
    pipeline = nlp.load_model(model)
    prov = Provenance(f"raw:{model}", "silver", kind="machine")
    docs = list(docs)
    for doc, sdoc in zip(docs, pipeline.pipe((d.text for d in docs), batch_size=32)):
        spans = tuple(doc.make_span(f"raw-{i}", e.start_char, e.end_char, e.label_, "entities", prov)
                      for i, e in enumerate(sdoc.ents))
        yield doc.with_set(AnnotationSet("raw", spans))


def build(corpus_path: Path, gum: Path, n_docs: int, model: str = nlp.DEFAULT_MODEL) -> None:
    corpus = open_corpus(corpus_path)
    txts = sorted(a.with_suffix(".txt") for a in gum.glob("*.ann"))[:n_docs]
    report = ingest.IngestReport()
    with corpus.lock():
        corpus.write(ingest.new_documents(txts, set(), report=report))
    with corpus.lock():
        corpus.write(annotate(list(corpus.documents()), ["entities"], model=model, schema=load_schema()))
    with corpus.lock():
        corpus.write(raw_spacy(corpus.documents(), model))
    options = formats.ImportOptions(load_schema(), formats.load_label_map(ROOT / "schema/label-maps/gum.yaml"),
                                    set_name="gold", annotator="gum")
    imp = formats.ImportReport()
    with corpus.lock():
        corpus.write(list(formats.import_documents(corpus.documents(), formats.read_paths("brat", txts, options, imp), imp,
                                                       segment=ingest.segment_documents)))
    if imp.added:
        raise SystemExit(f"{len(imp.added)} gold documents did not match an ingested text")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("n_docs", nargs="?", type=int, default=1000, help="number of GUM documents (default: all)")
    ap.add_argument("--gum", type=Path, default=GUM)
    ap.add_argument("--labels", action="store_true", help="print the per-label tables too")
    ap.add_argument("--model", default=nlp.DEFAULT_MODEL, help="spaCy pipeline for the raw run and the pre-annotators")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="spanbank-gum-") as tmp:
        corpus = open_corpus(Path(tmp) / "corpus")
        build(corpus.path, args.gum, args.n_docs, args.model)
        rows = {}
        result = evaluate(corpus.documents(), corpus.documents(), ["entities"], "gold", "raw", RAW_MAP)
        rows["raw spaCy"] = result["layers"]["entities"]
        if args.labels:
            print(f"== raw spaCy\n{render_table(result)}\n")
        for name in ENTITY_AGENTS:
            docs = list(run_agents(corpus.documents(), [name], args.model, schema=load_schema()))
            result = evaluate(docs, docs, ["entities"], "gold", "silver", SCHEMA_MAP)
            rows[name] = result["layers"]["entities"]
            if args.labels:
                print(f"== {name}\n{render_table(result)}\n")
    n = next(iter(rows.values()))["documents"]
    print(f"gum-news-brat entities, {n} documents (types mapped onto GUM's PER/ORG/LOC)")
    print(f"{'system':<22} {'exact P':>8} {'R':>6} {'F1':>6}   {'overlap P':>9} {'R':>6} {'F1':>6}")
    for name, data in rows.items():
        e, o = (data["levels"]["span"][k]["ALL"] for k in ("exact", "overlap"))
        print(f"{name:<22} {e['precision']:>8.3f} {e['recall']:>6.3f} {e['f1']:>6.3f}   "
              f"{o['precision']:>9.3f} {o['recall']:>6.3f} {o['f1']:>6.3f}")
    raw = rows["raw spaCy"]["levels"]["span"]
    for name in ENTITY_AGENTS:
        ours = rows[name]["levels"]["span"]
        for kind in ("exact", "overlap"):
            print(f"ratio {name}/raw F1 ({kind}): {ours[kind]['ALL']['f1'] / max(raw[kind]['ALL']['f1'], 1e-9):.3f}")
        for label in ("PER", "ORG", "LOC"):
            print(f"  {label}: exact F1 raw {raw['exact'].get(label, {}).get('f1', 0):.3f} ours {ours['exact'].get(label, {}).get('f1', 0):.3f}"
                  f" | overlap F1 raw {raw['overlap'].get(label, {}).get('f1', 0):.3f} ours {ours['overlap'].get(label, {}).get('f1', 0):.3f}")


if __name__ == "__main__":
    sys.exit(main())
