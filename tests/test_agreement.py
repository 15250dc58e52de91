"""Agreement: hand-computed fixtures, Krippendorff's alpha against the `krippendorff` package, the CLI."""

from __future__ import annotations

import json
import math
import re

import krippendorff
import numpy as np
import pytest
from click.testing import CliRunner

from spanbank.agreement import agreement, agreement_summary, cohen_kappa, render_table, token_labels
from spanbank.cli import main
from spanbank.errors import CorpusError
from spanbank.model import (
    GOLD,
    AnnotationSet,
    Argument,
    Attribution,
    Document,
    Event,
    Provenance,
    Span,
    annotator_set,
    document_id,
)
from spanbank.store import open_corpus

# --- fixture builders (also used by test_adjudicate.py) ------------------------------------------


def make_set(text: str, name: str, spans=(), events=(), attributions=(), set_name: str | None = None,
             prov: Provenance | None = None) -> AnnotationSet:
    """spans: (id, start, end, label[, layer]); events: (id, trigger, type, [(role, span)]);
    attributions: (id, cue, source, content[, parent])."""
    prov = prov or Provenance(name, GOLD, "2024-01-01T00:00:00Z", "human")
    made = [Span(s[0], s[1], s[2], text[s[1]:s[2]], s[3], s[4] if len(s) > 4 else "entities", prov) for s in spans]
    evs = [Event(e[0], e[1], e[2], tuple(Argument(r, a) for r, a in e[3]), prov) for e in events]
    ats = [Attribution(a[0], a[1], a[2], a[3], prov, a[4] if len(a) > 4 else None) for a in attributions]
    return AnnotationSet(set_name or annotator_set(name), tuple(made), tuple(evs), tuple(ats))


def make_doc(text: str, **sets) -> Document:
    """A document with whitespace tokens and one annotator set per keyword (name=dict(spans=..., ...))."""
    tokens = tuple((m.start(), m.end()) for m in re.finditer(r"\S+", text))
    annotations = {}
    for name, spec in sets.items():
        aset = spec if isinstance(spec, AnnotationSet) else make_set(text, name, **spec)
        annotations[aset.name] = aset
    return Document(document_id(text), text, tokens=tokens, annotations=dict(sorted(annotations.items())))


# Tokens: 0 Alice(0,5) 1 Smith(6,11) 2 met(12,15) 3 Bob(16,19) 4 in(20,22) 5 Paris(23,28) 6 on(29,31)
#         7 Monday(32,38) 8 in(39,41) 9 France(42,48)   -- 10 tokens
PEOPLE = "Alice Smith met Bob in Paris on Monday in France"
ANN = dict(spans=[("a1", 0, 11, "PER"), ("a2", 16, 19, "PER"), ("a3", 23, 28, "GPE"), ("a4", 32, 38, "TIME")])
BEN = dict(spans=[("b1", 0, 5, "PER"), ("b2", 16, 19, "PER"), ("b3", 23, 28, "LOC"), ("b4", 42, 48, "GPE")])

# Tokens: 0 Troops(0,6) 1 attacked(7,15) 2 the(16,19) 3 village(20,27) 4 ,(28,29) 5 killing(30,37)
#         6 three(38,43) 7 people(44,50) 8 .(51,52)
ATTACK = "Troops attacked the village , killing three people ."
ATTACK_ENTITIES = [("t", 0, 6, "PER"), ("v", 16, 27, "LOC"), ("p", 38, 50, "PER")]
ATTACK_ANN = dict(spans=ATTACK_ENTITIES + [("x", 7, 15, "Conflict:Attack", "events"), ("k", 30, 37, "Life:Die", "events")],
                  events=[("e1", "x", "Conflict:Attack", [("Attacker", "t"), ("Target", "v")]),
                          ("e2", "k", "Life:Die", [("Victim", "p")])])
ATTACK_BEN = dict(spans=ATTACK_ENTITIES + [("x", 7, 15, "Conflict:Attack", "events"), ("k", 30, 37, "Life:Injure", "events")],
                  events=[("e1", "x", "Conflict:Attack", [("Attacker", "t")]),
                          ("e2", "k", "Life:Injure", [("Victim", "p")])])

# Tokens: 0 Police(0,6) 1 said(7,11) 2 the(12,15) 3 man(16,19) 4 fled(20,24) 5 ,(25,26) ...
SAID = "Police said the man fled , witnesses told reporters ."
SAID_ANN = dict(spans=[("s", 0, 6, "SOURCE", "attribution"), ("c", 7, 11, "CUE", "attribution"),
                       ("q", 12, 24, "CONTENT", "attribution")], attributions=[("a", "c", "s", "q")])
SAID_BEN = dict(spans=[("s", 0, 6, "SOURCE", "attribution"), ("c", 7, 11, "CUE", "attribution"),
                       ("q", 16, 24, "CONTENT", "attribution")], attributions=[("a", "c", "s", "q")])


def pair(result, layer, first="ann", second="ben"):
    return next(p for p in result["layers"][layer]["pairs"] if p["annotators"] == [first, second])


# --- span F1 ------------------------------------------------------------------------------------


def test_agreement_entities_exact_and_overlap_differ():
    result = agreement([make_doc(PEOPLE, ann=ANN, ben=BEN)], layers=["entities"])
    levels = pair(result, "entities")["levels"]["span"]
    # Exact: only Bob agrees; ann has Alice Smith, Paris/GPE, Monday; ben has Alice, Paris/LOC, France.
    # F1 = 2*1 / (2*1 + 3 + 3) = 0.25
    assert levels["exact"]["ALL"] == {"agreed": 1, "only_first": 3, "only_second": 3, "f1": 0.25}
    # Overlap: Alice Smith ~ Alice (same label) also agrees: F1 = 2*2 / (2*2 + 2 + 2) = 0.5
    assert levels["overlap"]["ALL"] == {"agreed": 2, "only_first": 2, "only_second": 2, "f1": 0.5}
    # Per label, exact: PER 2*1/(2+1+1) = 0.5; GPE: Paris vs France, 0; LOC, TIME: one side only, 0.
    assert levels["exact"]["PER"]["f1"] == 0.5
    assert levels["overlap"]["PER"] == {"agreed": 2, "only_first": 0, "only_second": 0, "f1": 1.0}
    assert (levels["exact"]["GPE"]["only_first"], levels["exact"]["GPE"]["only_second"]) == (1, 1)
    assert levels["exact"]["LOC"] == {"agreed": 0, "only_first": 0, "only_second": 1, "f1": 0.0}
    assert levels["exact"]["TIME"] == {"agreed": 0, "only_first": 1, "only_second": 0, "f1": 0.0}


def test_agreement_f1_is_symmetric():
    forward = agreement([make_doc(PEOPLE, ann=ANN, ben=BEN)], layers=["entities"])
    backward = agreement([make_doc(PEOPLE, ann=BEN, ben=ANN)], layers=["entities"])
    f, b = pair(forward, "entities")["levels"]["span"], pair(backward, "entities")["levels"]["span"]
    for kind in ("exact", "overlap"):
        assert f[kind]["ALL"]["f1"] == b[kind]["ALL"]["f1"]
        assert f[kind]["ALL"]["only_first"] == b[kind]["ALL"]["only_second"]


def test_agreement_events_by_trigger_and_argument():
    result = agreement([make_doc(ATTACK, ann=ATTACK_ANN, ben=ATTACK_BEN)], layers=["events"])
    levels = pair(result, "events")["levels"]
    # Trigger (span + type): attacked/Attack agrees; killing is Life:Die vs Life:Injure -> 2*1/(2+1+1) = 0.5
    assert levels["trigger"]["exact"]["ALL"] == {"agreed": 1, "only_first": 1, "only_second": 1, "f1": 0.5}
    assert levels["trigger"]["exact"]["Conflict:Attack"]["f1"] == 1.0
    # Argument (trigger span + role + argument span; type judged at trigger level only):
    # Attacker/Troops and Victim/three people agree, Target/village only ann -> 2*2/(2*2+1) = 0.8
    assert levels["argument"]["exact"]["ALL"] == {"agreed": 2, "only_first": 1, "only_second": 0, "f1": 0.8}
    assert levels["argument"]["exact"]["Target"]["f1"] == 0.0
    assert levels["argument"]["exact"]["Victim"]["f1"] == 1.0


def test_agreement_attribution_by_role_and_relation():
    result = agreement([make_doc(SAID, ann=SAID_ANN, ben=SAID_BEN)], layers=["attribution"])
    levels = pair(result, "attribution")["levels"]
    # Roles: SOURCE and CUE agree, CONTENT [12,24) vs [16,24) only overlaps.
    assert {r: levels["span"]["exact"][r]["f1"] for r in ("SOURCE", "CUE", "CONTENT")} == \
        {"SOURCE": 1.0, "CUE": 1.0, "CONTENT": 0.0}
    assert levels["span"]["exact"]["ALL"]["f1"] == 0.6667  # 2*2 / (2*2 + 1 + 1)
    assert levels["span"]["overlap"]["ALL"]["f1"] == 1.0
    # Relation (cue + source + content): exact fails on the content, overlap matches.
    assert levels["relation"]["exact"]["ALL"] == {"agreed": 0, "only_first": 1, "only_second": 1, "f1": 0.0}
    assert levels["relation"]["overlap"]["ALL"]["f1"] == 1.0


# --- kappa and alpha ----------------------------------------------------------------------------


def test_agreement_kappa_by_hand():
    result = agreement([make_doc(PEOPLE, ann=ANN, ben=BEN)], layers=["entities"])
    kappa = pair(result, "entities")["kappa"]
    # Token labels (ann, ben) on the tokens either marked (0 1 3 5 7 9; the 4 tokens both left O don't count):
    #   Alice (PER, PER)  Smith (PER, O)  Bob (PER, PER)  Paris (GPE, LOC)  Monday (TIME, O)  France (O, GPE)
    # p_o = 2/6.  Marginals ann: PER 3, GPE 1, TIME 1, O 1; ben: PER 2, O 2, LOC 1, GPE 1.
    # p_e = (3*2 + 1*1 + 1*2) / 36 = 9/36 = 1/4.   kappa = (1/3 - 1/4) / (1 - 1/4) = 1/9
    assert kappa == {"value": round(1 / 9, 4), "tokens": 6}


def test_agreement_alpha_by_hand_two_annotators():
    result = agreement([make_doc(PEOPLE, ann=ANN, ben=BEN)], layers=["entities"])
    # Coincidences over the same 6 units, each pair counted both ways (weight 1/(2-1)); n = 12 values.
    # n_c: PER 5, O 3, GPE 2, LOC 1, TIME 1.  Observed disagreements: 12 - o(PER,PER)=4 -> 8.
    # Expected: n^2 - sum n_c^2 = 144 - 40 = 104.   alpha = 1 - (n-1) * 8/104 = 1 - 88/104 = 16/104
    assert result["layers"]["entities"]["alpha"] == {"value": round(16 / 104, 4), "units": 6}


def test_agreement_alpha_matches_krippendorff_package_with_missing_values():
    cat = dict(spans=[("c1", 0, 11, "PER"), ("c2", 16, 19, "PER"), ("c3", 23, 28, "GPE"), ("c4", 42, 48, "LOC")])
    other = "Bob went to Rome"  # tokens: Bob Rome marked; ann and cat only (ben missing)
    docs = [make_doc(PEOPLE, ann=ANN, ben=BEN, cat=cat),
            make_doc(other, ann=dict(spans=[("x", 0, 3, "PER"), ("y", 12, 16, "GPE")]),
                     cat=dict(spans=[("x", 0, 3, "PER")]))]
    docs.sort(key=lambda d: d.id)
    result = agreement(docs, layers=["entities"])
    # The units written out by hand (rows ann, ben, cat; nan = did not label the document):
    codes = {"O": 0, "PER": 1, "GPE": 2, "LOC": 3, "TIME": 4}
    nan = np.nan
    units = [  # Alice Smith Bob Paris Monday France | Bob Rome
        ["PER", "PER", "PER", "GPE", "TIME", "O", "PER", "GPE"],
        ["PER", "O", "PER", "LOC", "O", "GPE", None, None],
        ["PER", "PER", "PER", "GPE", "O", "LOC", "PER", "O"],
    ]
    data = [[codes[v] if v is not None else nan for v in row] for row in units]
    expected = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    assert result["layers"]["entities"]["alpha"]["units"] == 8
    assert result["layers"]["entities"]["alpha"]["value"] == pytest.approx(expected, abs=1e-4)
    # The pair ann/ben compares only the document both labelled.
    assert pair(result, "entities")["documents"] == 1
    assert pair(result, "entities", "ann", "cat")["documents"] == 2


def test_cohen_kappa_undefined_when_one_label_only():
    assert cohen_kappa({("PER", "PER"): 3}) is None
    assert cohen_kappa({}) is None


def test_token_labels_innermost_span_wins():
    text = "the University of Paris said"
    tokens = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    prov = Provenance("ann", GOLD, kind="human")
    org = Span("o", 4, 23, text[4:23], "ORG", "entities", prov)
    gpe = Span("g", 18, 23, text[18:23], "GPE", "entities", prov)
    loc = Span("l", 18, 23, text[18:23], "LOC", "entities", prov)  # same extent: alphabetical first wins
    assert token_labels(tokens, [org, gpe, loc]) == {1: "ORG", 2: "ORG", 3: "GPE"}
    # A span ending mid-token still covers that token.
    assert token_labels(tokens, [Span("p", 4, 8, "Univ", "ORG", "entities", prov)]) == {1: "ORG"}


def test_token_labels_with_emoji_and_combining_marks():
    text = "🙂 Zoë\u0301 met Ana"  # combining acute after ë: code points, not bytes or UTF-16 units
    tokens = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    zoe = Span("z", 2, 6, text[2:6], "PER", "entities", Provenance("ann", GOLD, kind="human"))
    assert text[2:6] == "Zoë\u0301"
    assert token_labels(tokens, [zoe]) == {1: "PER"}


# --- errors, summary, rendering -----------------------------------------------------------------


def test_agreement_counts_untokenized_documents():
    doc = make_doc(PEOPLE, ann=ANN, ben=BEN)
    bare = Document(doc.id, doc.text, annotations=doc.annotations)  # no token offsets
    result = agreement([bare], layers=["entities"])
    assert result["untokenized_documents"] == 1
    assert result["layers"]["entities"]["alpha"] == {"value": None, "units": 0}
    assert pair(result, "entities")["levels"]["span"]["exact"]["ALL"]["f1"] == 0.25  # span F1 still counts


def test_agreement_needs_two_annotators():
    with pytest.raises(CorpusError, match="agreement needs two annotators who labelled the same document; found only ann"):
        agreement([make_doc(PEOPLE, ann=ANN)])


def test_agreement_unknown_annotator():
    with pytest.raises(CorpusError, match=r"annotator 'zed' labelled no document \(allowed: ann, ben\)"):
        agreement([make_doc(PEOPLE, ann=ANN, ben=BEN)], annotators=["ann", "zed"])


def test_agreement_summary_headlines():
    docs = sorted([make_doc(PEOPLE, ann=ANN, ben=BEN), make_doc(ATTACK, ann=ATTACK_ANN, ben=ATTACK_BEN)],
                  key=lambda d: d.id)
    summary = agreement_summary(agreement(docs))
    assert summary["annotators"] == 2 and summary["documents"] == 2
    ent = summary["layers"]["entities"]
    # entities over both documents: PEOPLE (1 agreed, 3, 3) + ATTACK (3 agreed) -> 2*4 / (2*4 + 6) = 0.5714
    assert (ent["f1_exact"], ent["pairs"], ent["documents"]) == (0.5714, 1, 2)
    assert summary["layers"]["events"]["f1_exact"] == 0.5
    assert summary["layers"]["attribution"]["f1_exact"] is None  # nobody marked attribution
    json.dumps(summary)  # JSON-able


def test_render_table_lists_pairs_and_levels():
    text = render_table(agreement([make_doc(PEOPLE, ann=ANN, ben=BEN)], layers=["entities"]))
    assert "entities: Krippendorff's alpha 0.154 over 6 token(s)" in text
    assert " ann vs ben: 1 document(s), Cohen's kappa 0.111 over 6 token(s)" in text
    assert re.search(r"span\s+ALL\s+0\.250\s+0\.500\s+1\s+3\s+3", text)


# --- CLI ----------------------------------------------------------------------------------------


@pytest.fixture
def two_annotator_corpus(tmp_path):
    corpus = open_corpus(tmp_path / "corpus")
    docs = [make_doc(PEOPLE, ann=ANN, ben=BEN), make_doc(ATTACK, ann=ATTACK_ANN, ben=ATTACK_BEN),
            make_doc(SAID, ann=SAID_ANN, ben=SAID_BEN)]
    with corpus.lock():
        corpus.write(docs)
    return corpus


def test_cli_agreement_table_and_json(two_annotator_corpus):
    runner = CliRunner()
    path = str(two_annotator_corpus.path)
    res = runner.invoke(main, ["agreement", "--corpus", path])
    assert res.exit_code == 0, res.output
    assert "2 annotator(s): ann, ben; 3 document(s) labelled" in res.stdout
    assert "attribution: Krippendorff's alpha" in res.stdout
    res = runner.invoke(main, ["agreement", "--corpus", path, "--layer", "entities", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert list(data["layers"]) == ["entities"]
    assert data["layers"]["entities"]["pairs"][0]["documents"] == 3


def test_cli_agreement_one_annotator_exits_1(tmp_path):
    corpus = open_corpus(tmp_path / "c")
    with corpus.lock():
        corpus.write([make_doc(PEOPLE, ann=ANN)])
    res = CliRunner().invoke(main, ["agreement", "--corpus", str(corpus.path)])
    assert res.exit_code == 1
    assert "error: agreement needs two annotators who labelled the same document; found only ann; " \
           "have a second annotator label some documents" in " ".join(res.output.split())


def test_cli_agreement_missing_corpus_exits_1(tmp_path):
    res = CliRunner().invoke(main, ["agreement", "--corpus", str(tmp_path / "nowhere")])
    assert res.exit_code == 1
    assert "nowhere: no corpus here" in " ".join(res.output.split())


def test_cli_agreement_bad_layer_is_usage_error(two_annotator_corpus):
    res = CliRunner().invoke(main, ["agreement", "--corpus", str(two_annotator_corpus.path), "--layer", "relations"])
    assert res.exit_code == 2


def test_agreement_on_seed_corpus_real_tokens_matches_krippendorff(seed_corpus):
    """Real ingest (spaCy tokens): two annotators mark the first 12 and the first 8 tokens of each document."""
    docs = []
    expected_rows = {"ann": [], "ben": []}
    for doc in seed_corpus.documents():
        marks = {"ann": doc.tokens[:12:3], "ben": doc.tokens[:8:2]}
        sets = {}
        for name, toks in marks.items():
            sets[name] = dict(spans=[(f"{name}{i}", s, e, "PER" if i % 2 else "ORG") for i, (s, e) in enumerate(toks)])
        docs.append(_with_tokens(doc, sets))
        labels = {name: {doc.tokens.index(t): ("PER" if i % 2 else "ORG") for i, t in enumerate(toks)}
                  for name, toks in marks.items()}
        for unit in sorted(set(labels["ann"]) | set(labels["ben"])):
            for name in expected_rows:
                expected_rows[name].append(labels[name].get(unit, "O"))
    result = agreement(docs, layers=["entities"])
    codes = {"O": 0, "PER": 1, "ORG": 2}
    data = [[codes[v] for v in expected_rows[n]] for n in ("ann", "ben")]
    expected = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    assert result["layers"]["entities"]["alpha"]["value"] == pytest.approx(expected, abs=1e-4)
    assert not math.isnan(expected)


def _with_tokens(doc: Document, sets: dict) -> Document:
    for name, spec in sets.items():
        doc = doc.with_set(make_set(doc.text, name, **spec))
    return doc
