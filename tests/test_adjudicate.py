"""Adjudication: unanimous vs majority, disagreement list, provenance, no silent overwrite, decisions, CLI."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from test_agreement import ATTACK, ATTACK_ANN, ATTACK_BEN, PEOPLE, SAID, SAID_ANN, SAID_BEN, make_doc, make_set

from spanbank.adjudicate import AdjudicationReport, adjudicate, load_decisions
from spanbank.cli import main
from spanbank.errors import InputError
from spanbank.model import GOLD, Provenance
from spanbank.store import open_corpus

TIME = "2024-05-01T12:00:00Z"
# Three annotators on "Alice Smith met Bob in Paris on Monday in France":
#   Alice Smith [0,11) PER: ann, ben      Alice [0,5) PER: cat
#   Bob [16,19) PER: all three            Paris [23,28): GPE ann, cat; LOC ben
ANN = dict(spans=[("a1", 0, 11, "PER"), ("a2", 16, 19, "PER"), ("a3", 23, 28, "GPE")])
BEN = dict(spans=[("b1", 0, 11, "PER"), ("b2", 16, 19, "PER"), ("b3", 23, 28, "LOC")])
CAT = dict(spans=[("c1", 0, 5, "PER"), ("c2", 16, 19, "PER"), ("c3", 23, 28, "GPE")])


def run(docs, **kw):
    kw.setdefault("adjudicator", "dana")
    kw.setdefault("time", TIME)
    return list(adjudicate(docs, **kw))


def spans_of(doc):
    return sorted((s.start, s.end, s.label) for s in doc.annotation_set(GOLD).spans)


def test_adjudicate_unanimous_accepts_only_what_all_marked():
    [(doc, found)] = run([make_doc(PEOPLE, ann=ANN, ben=BEN, cat=CAT)])
    assert spans_of(doc) == [(16, 19, "PER")]
    assert len(found) == 4 and not any(d.accepted for d in found)


def test_adjudicate_majority_accepts_more_than_half():
    [(doc, found)] = run([make_doc(PEOPLE, ann=ANN, ben=BEN, cat=CAT)], strategy="majority")
    # 2 of 3 > 1.5: Alice Smith/PER and Paris/GPE join Bob; Alice/PER (1/3) and Paris/LOC (1/3) do not.
    assert spans_of(doc) == [(0, 11, "PER"), (16, 19, "PER"), (23, 28, "GPE")]
    assert sorted((d.start, d.end, d.label, d.accepted) for d in found) == [
        (0, 5, "PER", False), (0, 11, "PER", True), (23, 28, "GPE", True), (23, 28, "LOC", False)]


def test_adjudicate_majority_needs_more_than_half_of_two():
    [(doc, _)] = run([make_doc(PEOPLE, ann=ANN, ben=BEN)], strategy="majority")
    assert spans_of(doc) == [(0, 11, "PER"), (16, 19, "PER")]  # 1 of 2 is not a majority: Paris dropped


def test_adjudicate_disagreement_says_who_said_what():
    [(doc, found)] = run([make_doc(PEOPLE, ann=ANN, ben=BEN, cat=CAT)])
    paris = next(d for d in found if d.label == "LOC")
    assert paris.as_dict() == {
        "doc": doc.id, "key": '["span","entities","LOC",23,28]', "kind": "span", "layer": "entities",
        "label": "LOC", "start": 23, "end": 28, "text": "Paris", "votes": ["ben"], "annotators": ["ann", "ben", "cat"],
        "said": {"ann": ["GPE"], "ben": ["LOC"], "cat": ["GPE"]}, "accepted": False, "decided": False}


def test_adjudicate_records_who_decided():
    [(doc, _)] = run([make_doc(PEOPLE, ann=ANN, ben=BEN, cat=CAT)], strategy="majority")
    provs = {(s.start, s.end): s.provenance for s in doc.annotation_set(GOLD).spans}
    assert provs[(16, 19)] == Provenance("dana", GOLD, TIME, "human", "adjudicated from ann, ben, cat (unanimous)")
    assert provs[(0, 11)] == Provenance("dana", GOLD, TIME, "human", "adjudicated from ann, ben, cat (majority 2/3)")
    # the annotator sets are kept as they were
    assert doc.annotators() == ["ann", "ben", "cat"]


def test_adjudicate_events_keep_agreed_arguments():
    [(doc, found)] = run([make_doc(ATTACK, ann=ATTACK_ANN, ben=ATTACK_BEN)])
    gold = doc.annotation_set(GOLD)
    # attacked/Attack agreed with Attacker only (Target is ann's alone); killing: Life:Die vs Life:Injure, neither.
    [event] = gold.events
    assert (event.type, gold.span(event.trigger).text) == ("Conflict:Attack", "attacked")
    assert [(a.role, gold.span(a.span).text) for a in event.arguments] == [("Attacker", "Troops")]
    assert event.arguments[0].provenance.agent == "dana"
    kinds = sorted((d.kind, d.label) for d in found)
    # An argument belongs to its event (type + trigger): the Victim of Life:Die and of Life:Injure differ.
    assert kinds == [("argument", "Target"), ("argument", "Victim"), ("argument", "Victim"), ("event", "Life:Die"),
                     ("event", "Life:Injure"), ("span", "Life:Die"), ("span", "Life:Injure")]


def test_adjudicate_attribution_needs_its_spans():
    [(doc, found)] = run([make_doc(SAID, ann=SAID_ANN, ben=SAID_BEN)])
    gold = doc.annotation_set(GOLD)
    assert sorted(s.label for s in gold.spans) == ["CUE", "SOURCE"]  # the CONTENT spans differ
    assert gold.attributions == ()
    assert sorted((d.kind, d.start, d.end) for d in found) == [
        ("attribution", 7, 11), ("attribution", 7, 11), ("span", 12, 24), ("span", 16, 24)]


def test_adjudicate_decisions_override_the_rule():
    docs = [make_doc(SAID, ann=SAID_ANN, ben=SAID_BEN)]
    [(_, found)] = run(docs)
    # The adjudicator accepts ben's content span and ben's attribution, rejects ann's.
    ben = {d.key: d for d in found if "ben" in d.votes}
    decisions = {(d.doc, d.key): d.key in ben for d in found}
    [(doc, again)] = run(docs, decisions=decisions)
    gold = doc.annotation_set(GOLD)
    [at] = gold.attributions
    assert (gold.span(at.cue).text, gold.span(at.source).text, gold.span(at.content).text) == ("said", "Police", "man fled")
    assert at.provenance.detail == "adjudicated from ann, ben (adjudicator decision, 1/2)"
    assert all(d.decided for d in again) and sum(d.accepted for d in again) == 2


def test_adjudicate_keeps_differing_gold_and_reports_conflict():
    imported = make_set(PEOPLE, "x", spans=[("g", 0, 5, "PER")], set_name=GOLD,
                        prov=Provenance("brat-import", GOLD, kind="import"))
    doc = make_doc(PEOPLE, ann=ANN, ben=BEN, gold=imported)
    report = AdjudicationReport()
    [(kept, _)] = run([doc], report=report)
    assert kept.annotation_set(GOLD) == imported
    assert report.conflicts == [doc.id] and report.written == 0
    report = AdjudicationReport()
    [(forced, _)] = run([doc], report=report, force=True)
    assert spans_of(forced) == [(0, 11, "PER"), (16, 19, "PER")]
    assert report.overwritten == [doc.id] and report.conflicts == []


def test_adjudicate_rerun_is_unchanged_and_own_gold_is_updated():
    doc = make_doc(PEOPLE, ann=ANN, ben=BEN, cat=CAT)
    [(first, found)] = run([doc])
    report = AdjudicationReport()
    [(second, _)] = run([first], report=report, time="2030-01-01T00:00:00Z")
    assert second == first and report.unchanged == 1  # same result: provenance (time) untouched
    report = AdjudicationReport()
    [(third, _)] = run([first], report=report, strategy="majority")
    assert report.conflicts == [] and report.written == 1  # the earlier gold was dana's own adjudication
    assert len(spans_of(third)) == 3


def test_adjudicate_offsets_with_emoji_and_combining_marks():
    text = "🙂🙂 Zoe\u0301 met Ana in Köln"
    zoe, koln = (3, 7), (19, 23)  # code points: the emoji count one each, the combining accent one
    assert (text[slice(*zoe)], text[slice(*koln)]) == ("Zoe\u0301", "Köln")
    spec = dict(spans=[("z", *zoe, "PER"), ("k", *koln, "GPE")])
    [(doc, found)] = run([make_doc(text, ann=spec, ben=spec)])
    gold = doc.annotation_set(GOLD)
    assert [(s.start, s.end, s.text) for s in sorted(gold.spans, key=lambda s: s.start)] == \
        [(3, 7, "Zoe\u0301"), (19, 23, "Köln")]
    assert found == []


def test_adjudicate_documents_without_annotators_pass_through():
    doc = make_doc(PEOPLE)
    assert run([doc]) == [(doc, [])]


def test_adjudicate_bad_strategy():
    with pytest.raises(InputError, match=r"unknown strategy 'vote' \(allowed: unanimous, majority\)"):
        run([make_doc(PEOPLE)], strategy="vote")


def test_load_decisions_errors_name_the_line(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"doc": "d", "key": "k", "accept": true}\n{"doc": "d", "key": "k2"}\n'
                    '{"doc": "d", "key": "k3", "accept": "yes"}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"d\.jsonl:3: \"accept\" must be true or false, not 'yes'"):
        load_decisions(path)
    path.write_text('{"doc": "d", "key": "k", "accept": false}\n\n{"doc": "d", "key": "k2"}\n', encoding="utf-8")
    assert load_decisions(path) == {("d", "k"): False}  # undecided lines are skipped
    path.write_text('{"doc": "d", "key": "k", "accept": false}\n{"doc": "d", "key" "k2"}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"d\.jsonl:2:\d+: not valid JSON"):  # read by the one JSONL reader
        load_decisions(path)


# --- CLI ----------------------------------------------------------------------------------------


@pytest.fixture
def corpus(tmp_path):
    corpus = open_corpus(tmp_path / "corpus")
    with corpus.lock():
        corpus.write([make_doc(PEOPLE, ann=ANN, ben=BEN, cat=CAT), make_doc(SAID, ann=SAID_ANN, ben=SAID_BEN)])
    return corpus


def test_cli_adjudicate_writes_gold_and_disagreements(corpus, tmp_path):
    out = tmp_path / "disagreements.jsonl"
    res = CliRunner().invoke(main, ["adjudicate", "--corpus", str(corpus.path), "--adjudicator", "dana",
                                    "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert " ".join(res.output.split()) == (
        "2 document(s) adjudicated (unanimous) by dana: gold written for 2, unchanged for 0; accepted 3 spans, "
        f"0 events, 0 attributions; 8 disagreement(s) disagreements written to {out}; add \"accept\": true|false "
        f"and re-run with --decisions {out}")
    docs = {d.text: d for d in corpus.documents()}
    assert spans_of(docs[PEOPLE]) == [(16, 19, "PER")]
    assert docs[SAID].annotation_set(GOLD).spans[0].provenance.agent == "dana"
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 8 and {line["doc"] for line in lines} == set(d.id for d in docs.values())

    # The adjudicator accepts every majority item; the second run applies that without --force.
    for line in lines:
        line["accept"] = len(line["votes"]) * 2 > len(line["annotators"])
    out.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    res = CliRunner().invoke(main, ["adjudicate", "--corpus", str(corpus.path), "--adjudicator", "dana",
                                    "--decisions", str(out), "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert (report["written"], report["decisions_used"], report["conflicts"]) == (1, 8, [])
    docs = {d.text: d for d in corpus.documents()}
    assert spans_of(docs[PEOPLE]) == [(0, 11, "PER"), (16, 19, "PER"), (23, 28, "GPE")]


def test_cli_adjudicate_conflict_exits_1_and_keeps_gold(corpus):
    runner = CliRunner()
    args = ["adjudicate", "--corpus", str(corpus.path)]
    assert runner.invoke(main, args + ["--adjudicator", "dana"]).exit_code == 0
    res = runner.invoke(main, args + ["--adjudicator", "erin", "--strategy", "majority"])
    assert res.exit_code == 1
    people = next(d for d in corpus.documents() if d.text == PEOPLE)
    assert "conflict: " + people.id + " already has a different gold set; kept it (re-run with --force to " \
           "replace it)" in " ".join(res.output.split())
    assert spans_of(people) == [(16, 19, "PER")]
    res = runner.invoke(main, args + ["--adjudicator", "erin", "--strategy", "majority", "--force"])
    assert res.exit_code == 0, res.output
    people = next(d for d in corpus.documents() if d.text == PEOPLE)
    assert {s.provenance.agent for s in people.annotation_set(GOLD).spans} == {"erin"}


def test_cli_adjudicate_requires_adjudicator(corpus):
    res = CliRunner().invoke(main, ["adjudicate", "--corpus", str(corpus.path)])
    assert res.exit_code == 2
    assert "Missing option '--adjudicator'" in res.output
