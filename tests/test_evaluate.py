"""evaluate: hand-computed scores on tiny fixtures, ACE event levels, attribution relations, seqeval check, CLI."""

import json

import pytest
from click.testing import CliRunner
from seqeval.metrics import classification_report, f1_score

from spanbank.cli import main
from spanbank.errors import CorpusError
from spanbank.evaluate import evaluate, render_table
from spanbank.formats.conll import to_bio
from spanbank.model import AnnotationSet, Argument, Attribution, Document, Event, Provenance, Span, document_id
from spanbank.store import open_corpus

P = Provenance("test", "gold", kind="human")
TEXT = "Ghani met Kadhimi in Baghdad on Monday, the government said. A drone struck his residence."


def doc(text: str = TEXT, **sets: AnnotationSet) -> Document:
    return Document(id=document_id(text), text=text, annotations={a.name: a for a in sets.values()})


def sp(text: str, sid: str, label: str, surface: str, layer: str = "entities", nth: int = 0):
    start = -1
    for _ in range(nth + 1):
        start = text.index(surface, start + 1)
    return Span(sid, start, start + len(surface), surface, label, layer, P)




def aset(name, spans=(), events=(), atts=()):
    return AnnotationSet(name, tuple(spans), tuple(events), tuple(atts))


def row(result, layer, level, kind, label="ALL"):
    return result["layers"][layer]["levels"][level][kind][label]


def test_evaluate_entities_exact_and_overlap_hand_computed():
    gold = aset("gold", [sp(TEXT, "g1", "PER", "Ghani"), sp(TEXT, "g2", "PER", "Kadhimi"),
                         sp(TEXT, "g3", "GPE", "Baghdad"), sp(TEXT, "g4", "TIME", "Monday")])
    pred = aset("silver", [sp(TEXT, "p1", "PER", "Ghani met"), sp(TEXT, "p2", "PER", "Kadhimi"),
                           sp(TEXT, "p3", "LOC", "Baghdad"), sp(TEXT, "p4", "TIME", "Monday"), sp(TEXT, "p5", "ORG", "in")])
    d = doc(gold=gold, silver=pred)
    result = evaluate([d], [d], ["entities"])
    # exact: PER tp1 fp1 fn1, GPE fn1, LOC fp1, TIME tp1, ORG fp1 -> tp2 fp3 fn2
    assert row(result, "entities", "span", "exact") == {"tp": 2, "fp": 3, "fn": 2, "precision": 0.4, "recall": 0.5,
                                                         "f1": 0.4444}
    assert row(result, "entities", "span", "exact", "PER") == {"tp": 1, "fp": 1, "fn": 1, "precision": 0.5,
                                                                "recall": 0.5, "f1": 0.5}
    assert row(result, "entities", "span", "exact", "GPE")["fn"] == 1
    # overlap: "Ghani met" now matches "Ghani"; the wrong label still does not -> tp3 fp2 fn1
    assert row(result, "entities", "span", "overlap") == {"tp": 3, "fp": 2, "fn": 1, "precision": 0.6, "recall": 0.75,
                                                           "f1": 0.6667}
    assert result["layers"]["entities"]["documents"] == 1
    table = render_table(result)
    assert "entities     span                     ALL                             0.400  0.500  0.444" in table


def test_evaluate_overlap_is_one_to_one():
    gold = aset("gold", [sp(TEXT, "g1", "PER", "Ghani"), sp(TEXT, "g2", "PER", "Kadhimi")])
    pred = aset("silver", [sp(TEXT, "p1", "PER", "Ghani met Kadhimi")])
    d = doc(gold=gold, silver=pred)
    overlap = row(evaluate([d], [d], ["entities"]), "entities", "span", "overlap")
    assert (overlap["tp"], overlap["fp"], overlap["fn"]) == (1, 0, 1)


def _attack(name, etype="Conflict:Attack", role_drone="Instrument", trigger="struck"):
    spans = [sp(TEXT, "t", etype, trigger, "events"), sp(TEXT, "d", "WEA", "drone"), sp(TEXT, "r", "FAC", "residence")]
    ev = Event("e", "t", etype, (Argument(role_drone, "d"), Argument("Target", "r")), P)
    return aset(name, spans, [ev])


def test_evaluate_events_ace_levels():
    gold = _attack("gold")
    wrong_type = _attack("silver", etype="Life:Injure")
    d = doc(gold=gold, silver=wrong_type)
    r = evaluate([d], [d], ["events"])
    assert row(r, "events", "trigger_identification", "exact")["tp"] == 1
    assert (row(r, "events", "trigger_classification", "exact")["tp"], row(r, "events", "trigger_classification", "exact")["fp"]) == (0, 1)
    assert row(r, "events", "argument_identification", "exact")["tp"] == 0  # arguments count under the event type
    wrong_role = _attack("silver", role_drone="Target")
    d = doc(gold=gold, silver=wrong_role)
    r = evaluate([d], [d], ["events"])
    assert row(r, "events", "trigger_classification", "exact")["f1"] == 1.0
    assert row(r, "events", "argument_identification", "exact") == {"tp": 2, "fp": 0, "fn": 0, "precision": 1.0,
                                                                     "recall": 1.0, "f1": 1.0}
    role = row(r, "events", "argument_role", "exact")
    assert (role["tp"], role["fp"], role["fn"]) == (1, 1, 1)
    assert row(r, "events", "argument_role", "exact", "Target") == {"tp": 1, "fp": 1, "fn": 0, "precision": 0.5,
                                                                     "recall": 1.0, "f1": 0.6667}


def _said(name, content, source="government"):
    spans = [sp(TEXT, "c", "CUE", "said", "attribution"), sp(TEXT, "n", "CONTENT", content, "attribution")]
    if source:
        spans.append(sp(TEXT, "s", "SOURCE", source, "attribution"))
    return aset(name, spans, atts=[Attribution("a", "c", "s" if source else None, "n", P)])


def test_evaluate_attribution_spans_and_relation():
    gold = _said("gold", "Ghani met Kadhimi in Baghdad on Monday")
    pred = _said("silver", "Kadhimi in Baghdad")
    d = doc(gold=gold, silver=pred)
    r = evaluate([d], [d], ["attribution"])
    assert row(r, "attribution", "span", "exact", "CUE")["tp"] == 1
    assert row(r, "attribution", "span", "exact", "CONTENT")["tp"] == 0
    assert row(r, "attribution", "span", "overlap", "CONTENT")["tp"] == 1
    assert row(r, "attribution", "relation", "exact")["tp"] == 0
    assert row(r, "attribution", "relation", "overlap")["tp"] == 1
    no_source = _said("silver", "Ghani met Kadhimi in Baghdad on Monday", source=None)
    d = doc(gold=gold, silver=no_source)
    r = evaluate([d], [d], ["attribution"])
    assert (row(r, "attribution", "relation", "overlap")["tp"], row(r, "attribution", "relation", "overlap")["fn"]) == (0, 1)


def test_evaluate_streams_missing_and_extra_documents():
    gold_a = doc("Ghani spoke.", gold=aset("gold", [sp("Ghani spoke.", "g", "PER", "Ghani")]))
    gold_b = doc("Kadhimi spoke.", gold=aset("gold", [sp("Kadhimi spoke.", "g", "PER", "Kadhimi")]))
    extra = doc("Nobody here.")
    pred_b = doc("Kadhimi spoke.", silver=aset("silver", [sp("Kadhimi spoke.", "p", "PER", "Kadhimi")]))
    gold_docs = sorted([gold_a, gold_b, extra], key=lambda d: d.id)
    pred_docs = sorted([pred_b, extra], key=lambda d: d.id)
    r = evaluate(gold_docs, pred_docs, ["entities", "events"], partial_gold=True)
    assert r["mode"] == "partial-gold"
    assert row(r, "entities", "span", "exact") == {"tp": 1, "fp": 0, "fn": 1, "precision": 1.0, "recall": 0.5,
                                                    "f1": 0.6667}
    assert r["layers"]["entities"]["documents"] == 2
    assert "events" not in r["layers"]  # partial gold: no gold events anywhere, the layer is not scored
    r = evaluate(gold_docs, pred_docs, ["entities", "events"])  # exhaustive: every gold document counts
    assert r["mode"] == "exhaustive"
    assert r["layers"]["entities"]["documents"] == 3
    assert r["layers"]["entities"]["documents_with_gold"] == 2
    assert r["layers"]["events"]["documents"] == 3


def test_evaluate_exhaustive_counts_predictions_where_gold_has_none():
    """The flattering bug: a document without gold spans hid its false positives."""
    gold_a = doc("Ghani spoke.", gold=aset("gold", [sp("Ghani spoke.", "g", "PER", "Ghani")]),
                 silver=aset("silver", [sp("Ghani spoke.", "p", "PER", "Ghani")]))
    empty = doc("Nobody spoke in Kabul.", silver=aset("silver", [sp("Nobody spoke in Kabul.", "p", "GPE", "Kabul")]))
    docs = sorted([gold_a, empty], key=lambda d: d.id)
    exhaustive = evaluate(docs, docs, ["entities"])
    assert row(exhaustive, "entities", "span", "exact") == {"tp": 1, "fp": 1, "fn": 0, "precision": 0.5,
                                                             "recall": 1.0, "f1": 0.6667}
    assert exhaustive["layers"]["entities"]["errors"]["GPE"]["spurious"] == 1
    partial = evaluate(docs, docs, ["entities"], partial_gold=True)
    assert row(partial, "entities", "span", "exact")["fp"] == 0
    assert "exhaustive gold" in render_table(exhaustive) and "partial gold" in render_table(partial)


def test_evaluate_error_breakdown_per_label():
    gold = aset("gold", [sp(TEXT, "g1", "PER", "Ghani"), sp(TEXT, "g2", "PER", "Kadhimi"),
                         sp(TEXT, "g3", "GPE", "Baghdad"), sp(TEXT, "g4", "TIME", "Monday"),
                         sp(TEXT, "g5", "ORG", "the government"), sp(TEXT, "g6", "PER", "his")])
    pred = aset("silver", [sp(TEXT, "p1", "PER", "Ghani met"),  # wrong boundary
                           sp(TEXT, "p2", "PER", "Kadhimi"),  # correct
                           sp(TEXT, "p3", "LOC", "Baghdad"),  # wrong type (GPE)
                           sp(TEXT, "p4", "ORG", "on Monday"),  # wrong both (TIME)
                           sp(TEXT, "p5", "ORG", "drone")])  # spurious; the government, his: missed
    d = doc(gold=gold, silver=pred)
    errors = evaluate([d], [d], ["entities"])["layers"]["entities"]["errors"]
    zero = dict.fromkeys(("correct", "wrong_type", "wrong_boundary", "wrong_both", "missed", "spurious"), 0)
    assert errors["PER"] == {**zero, "correct": 1, "wrong_boundary": 1, "missed": 1}
    assert errors["GPE"] == {**zero, "wrong_type": 1}
    assert errors["TIME"] == {**zero, "wrong_both": 1}
    assert errors["ORG"] == {**zero, "missed": 1, "spurious": 1}
    assert errors["ALL"] == {"correct": 1, "wrong_type": 1, "wrong_boundary": 1, "wrong_both": 1, "missed": 2,
                             "spurious": 1}


def test_evaluate_label_map_collapses_types():
    gold = aset("gold", [sp(TEXT, "g", "LOC", "Baghdad")])
    pred = aset("silver", [sp(TEXT, "p", "GPE", "Baghdad"), sp(TEXT, "q", "TIME", "Monday")])
    d = doc(gold=gold, silver=pred)
    r = evaluate([d], [d], ["entities"], label_map={"GPE": "LOC", "TIME": None})
    assert row(r, "entities", "span", "exact")["f1"] == 1.0


def test_evaluate_without_gold_raises():
    d = doc()
    with pytest.raises(CorpusError, match="no document has annotations in set 'gold'"):
        evaluate([d], [d])


def test_evaluate_span_f1_matches_seqeval(seed_corpus):
    """Exact span F1 equals seqeval's on the BIO rendering of the same two sets."""
    base = next(seed_corpus.documents())
    ends = {e for _, e in base.sentences}
    toks = base.tokens
    labels = ["PER", "ORG", "GPE", "TIME"]
    gold_spans, pred_spans = [], []
    i = 0
    while i < len(toks) - 3:
        n = 1 + i % 3
        if any(toks[j][1] in ends for j in range(i, i + n - 1)):  # BIO is per sentence: keep spans inside one
            n = 1
        start, end = toks[i][0], toks[i + n - 1][1]
        label = labels[i % 4]
        gold_spans.append(base.make_span(f"g{i}", start, end, label, "entities", P))
        if i % 5 == 1:
            pred_spans.append(base.make_span(f"p{i}", start, end, labels[(i + 1) % 4], "entities", P))  # wrong label
        elif i % 5 == 2 and n > 1:
            pred_spans.append(base.make_span(f"p{i}", start, toks[i + n - 2][1], label, "entities", P))  # too short
        elif i % 5 != 3:
            pred_spans.append(base.make_span(f"p{i}", start, end, label, "entities", P))  # 3: missed
        i += n + 1 + i % 2
    d = base.with_set(aset("gold", gold_spans)).with_set(aset("silver", pred_spans))
    r = evaluate([d], [d], ["entities"])
    y_true = [[t for _, t in s] for s in to_bio(d, "gold")]
    y_pred = [[t for _, t in s] for s in to_bio(d, "silver")]
    assert row(r, "entities", "span", "exact")["f1"] == pytest.approx(f1_score(y_true, y_pred), abs=1e-4)
    report = classification_report(y_true, y_pred, output_dict=True)
    for label in labels:
        assert row(r, "entities", "span", "exact", label)["f1"] == pytest.approx(report[label]["f1-score"], abs=1e-4)
        assert row(r, "entities", "span", "exact", label)["tp"] + row(r, "entities", "span", "exact", label)["fn"] \
            == report[label]["support"]


def test_cli_evaluate_json_and_table(seed_corpus):
    base = next(seed_corpus.documents())
    gold = aset("gold", [base.make_span("g", 0, 5, "TIME", "entities", P)])
    with seed_corpus.lock():
        seed_corpus.write([base.with_set(gold)])
    runner = CliRunner()
    res = runner.invoke(main, ["evaluate", "--gold", str(seed_corpus.path), "--pred", str(seed_corpus.path), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["layers"]["entities"]["levels"]["span"]["exact"]["ALL"] == {"tp": 0, "fp": 0, "fn": 1, "precision": 0.0,
                                                                           "recall": 0.0, "f1": 0.0}
    res = runner.invoke(main, ["evaluate", "--gold", str(seed_corpus.path), "--pred", str(seed_corpus.path),
                               "--pred-set", "gold", "--layer", "entities"])
    assert res.exit_code == 0
    assert "entities     span                     TIME                            1.000  1.000  1.000" in res.stdout
    res = runner.invoke(main, ["evaluate", "--gold", str(seed_corpus.path), "--pred", str(seed_corpus.path),
                               "--gold-set", "annotator/nobody"])
    assert res.exit_code == 1
    assert "error: no document has annotations in set 'annotator/nobody' for layers entities, events, attribution" in res.output
    assert open_corpus(seed_corpus.path).count() == 1


BIO_GOLD = """-DOCSTART- O

Ghani B-PER
met O
Kadhimi B-PER
in O
Baghdad B-GPE

Nothing O
here O

-DOCSTART- O

A O
quiet O
day O

Still O
quiet O

-DOCSTART- O

The B-ORG
United I-ORG
Nations I-ORG
met O
on O
Monday B-TIME
"""

BIO_PRED = """-DOCSTART- O

Ghani B-PER
met I-PER
Kadhimi B-PER
in O
Baghdad B-LOC

Nothing B-ORG
here O

-DOCSTART- O

A O
quiet B-TIME
day I-TIME

Still O
quiet O

-DOCSTART- O

The O
United B-ORG
Nations I-ORG
met O
on O
Monday B-TIME
"""


def test_cli_evaluate_exhaustive_matches_seqeval_on_bio_with_empty_sentences(tmp_path):
    """Gold from BIO with sentences and a whole document without entities; predictions there are false positives."""
    runner = CliRunner()
    for name, text in (("gold", BIO_GOLD), ("pred", BIO_PRED)):
        (tmp_path / f"{name}.conll").write_text(text, encoding="utf-8")
        res = runner.invoke(main, ["import", "--format", "conll", str(tmp_path / f"{name}.conll"), "--set",
                                   "gold" if name == "gold" else "silver", "--corpus", str(tmp_path / name)])
        assert res.exit_code == 0, res.output
    res = runner.invoke(main, ["evaluate", "--gold", str(tmp_path / "gold"), "--pred", str(tmp_path / "pred"),
                               "--layer", "entities", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["mode"] == "exhaustive"
    assert data["layers"]["entities"]["documents"] == 3
    sentences = lambda text: [[line.split()[1] for line in block.splitlines() if not line.startswith("-DOCSTART-")]  # noqa: E731
                              for block in text.split("\n\n") if block.strip() and not block.startswith("-DOCSTART-")]
    y_true, y_pred = sentences(BIO_GOLD), sentences(BIO_PRED)
    assert len(y_true) == len(y_pred) == 5
    exact = data["layers"]["entities"]["levels"]["span"]["exact"]
    assert exact["ALL"]["f1"] == pytest.approx(f1_score(y_true, y_pred), abs=1e-4)
    report = classification_report(y_true, y_pred, output_dict=True, zero_division=0)
    for label in ("PER", "ORG", "GPE", "TIME"):
        assert exact[label]["f1"] == pytest.approx(report[label]["f1-score"], abs=1e-4), label
        assert exact[label]["tp"] + exact[label]["fn"] == report[label]["support"]
    assert exact["ALL"]["fp"] == 5  # Ghani met, Baghdad LOC, Nothing ORG, quiet day TIME, United Nations
    partial = runner.invoke(main, ["evaluate", "--gold", str(tmp_path / "gold"), "--pred", str(tmp_path / "pred"),
                                   "--layer", "entities", "--partial-gold"])
    assert partial.exit_code == 0, partial.output
    assert "partial gold" in partial.stdout
    assert "entities     (2 document(s), 2 with gold annotation)" in partial.stdout


def test_render_table_says_when_the_predicted_set_is_empty_everywhere():
    d = doc(gold=aset("gold", [sp(TEXT, "g", "PER", "Ghani")]))
    result = evaluate([d], [d], ["entities"])
    assert result["documents_with_pred"] == 0
    assert ("note: no gold-corpus document has annotations in set 'silver' (annotate skips documents with human "
            "annotation: `spanbank annotate --into-set silver/NAME`, then --pred-set)") in render_table(result)
