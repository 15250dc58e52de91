"""``annotator/<name>`` sets rebuilt from Doccano's labels (doccano/annotators.py): provenance, UTF-16
offsets, events and attributions round-tripped, imported annotator sets left alone.

Against a real Doccano 1.8.4 server (``doccano_server``, started once per test session)."""

from __future__ import annotations

import time

from click.testing import CliRunner
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from doccano_helpers import (
    MACHINE,
    PLAIN,
    annotator,
    brat_folder,
    cli_import,
    make_corpus,
    new_project,
    pull_now,
    pushed_emoji_doc,
    pushed_plain_doc,
    span,
)
from spanbank.cli import main
from spanbank.doccano import annotators, merge
from spanbank.doccano import push as pushing
from spanbank.formats import doccano as fmt
from spanbank.model import AnnotationSet, Argument, Attribution, Document, Event, Span, document_id
from spanbank.schema import load_schema


def test_pull_two_annotators_keeps_both_with_provenance(client, schema, doccano_server, tmp_path):
    doc, corpus, project, ex = pushed_emoji_doc(client, schema, doccano_server, tmp_path)
    types = {t["text"]: t["id"] for t in client.label_types(project["id"], "span")}
    rtypes = {t["text"]: t["id"] for t in client.label_types(project["id"], "relation")}
    u16 = fmt.Utf16(doc.text)
    stamp = time.time_ns() % 10**6
    ann1 = annotator(client, doccano_server, project, f"ann1x{stamp}")
    ann2 = annotator(client, doccano_server, project, f"ann2x{stamp}")
    castle = doc.text.index("the castle")
    with ann1, ann2:
        s1 = ann1.create_span(project["id"], ex["id"], u16.to16(castle), u16.to16(castle + 10), types["FAC"])
        fled = doc.text.index("fled")
        trig = ann2.create_span(project["id"], ex["id"], u16.to16(fled), u16.to16(fled + 4), types["Movement:Transport"])
        paris = next(s for s in ann2.spans(project["id"], ex["id"])
                     if fmt.utf16_slice(doc.text, s["start_offset"], s["end_offset"]) == "Paris")
        ann2.create_relation(project["id"], ex["id"], trig["id"], paris["id"], rtypes["Destination"])
        ann2.create_span(project["id"], ex["id"], 1, 3, types["PER"])  # splits the 😀 surrogate pair
        ann1.toggle_confirmed(project["id"], ex["id"])
    report = pull_now(client, project, corpus, schema)
    assert report.updated == [doc.id] and report.annotators == sorted([f"ann1x{stamp}", f"ann2x{stamp}"])
    (recorded,) = corpus.rounds()
    assert report.round == 1 and recorded == {"round": 1, "time": recorded["time"], "project": project["name"],
                                              "documents": 1, "annotators": report.annotators}
    assert recorded["time"].endswith("Z") and recorded["time"][:2] == "20"
    pulled = next(corpus.documents())
    one, two = pulled.annotations[f"annotator/ann1x{stamp}"], pulled.annotations[f"annotator/ann2x{stamp}"]
    assert ("the castle", "FAC") in {(s.text, s.label) for s in one.spans}
    silver = {(s.start, s.end, s.label) for s in doc.annotations["silver"].spans}
    assert silver <= {(s.start, s.end, s.label) for s in one.spans}  # ann1 confirmed the pre-annotations
    assert {(s.text, s.label) for s in two.spans} == {("fled", "Movement:Transport"), ("Paris", "GPE")}
    assert [(e.type, [(a.role, two.span(a.span).text) for a in e.arguments]) for e in two.events] == \
        [("Movement:Transport", [("Destination", "Paris")])]
    own = one.span(f"d{s1['id']}").provenance
    assert (own.agent, own.kind, own.status, own.detail) == (f"ann1x{stamp}", "human", "gold",
                                                             f"doccano {project['name']}#{ex['id']}")
    assert own.time.endswith("Z") and own.time[:2] == "20"
    kept = next(s for s in one.spans if s.label == "CUE").provenance
    assert kept.detail == f"doccano {project['name']}#{ex['id']}; confirmed pre-annotation"
    assert [a.source and one.span(a.source).text for a in one.attributions] == ["Officials"]
    assert [r["reason"][:15] for r in report.rejects] == ["UTF-16 offsets "]
    assert (tmp_path / "c" / merge.REJECTS).exists()
    before = (tmp_path / "c" / "annotations.jsonl").read_bytes()
    again = pull_now(client, project, corpus, schema)
    assert (again.updated, (tmp_path / "c" / "annotations.jsonl").read_bytes()) == ([], before)
    assert again.round is None and len(corpus.rounds()) == 1  # nothing new: no round


def test_pull_never_touches_an_imported_annotator_set(client, schema, doccano_server, tmp_path, monkeypatch):
    doc, corpus, project, ex = pushed_plain_doc(client, schema, doccano_server, tmp_path)
    stamp = time.time_ns() % 10**6
    bob, eve = f"bob{stamp}", f"eve{stamp}"
    cli_import(corpus, brat_folder(tmp_path / "b1", PLAIN, [("Bob", "PER")]), "--set", f"annotator/{bob}",
               "--annotator", bob)
    cli_import(corpus, brat_folder(tmp_path / "b2", PLAIN, [("Officials", "PER")]), "--set", "annotator/zed")
    before = next(corpus.documents()).annotations
    types = {t["text"]: t["id"] for t in client.label_types(project["id"], "span")}
    with annotator(client, doccano_server, project, bob) as b, annotator(client, doccano_server, project, eve) as e:
        monday = PLAIN.index("Monday")
        b.create_span(project["id"], ex["id"], monday, monday + 6, types["TIME"])
        e.toggle_confirmed(project["id"], ex["id"])
    report = pull_now(client, project, corpus, schema)
    after = next(corpus.documents()).annotations
    assert (after[f"annotator/{bob}"], after["annotator/zed"]) == (before[f"annotator/{bob}"], before["annotator/zed"])
    assert report.kept_sets == [f"{doc.id}: annotator/{bob}"] and report.updated == [doc.id]
    assert annotators.pulled_set(after[f"annotator/{eve}"]) and not annotators.pulled_set(after[f"annotator/{bob}"])
    monkeypatch.setenv("SPANBANK_STATE", str(doccano_server.state.parent))
    again = CliRunner().invoke(main, ["doccano", "pull", "--corpus", str(corpus.path), "--project", project["name"]])
    assert again.exit_code == 1
    assert (f"1 annotator set(s) not made by a pull were kept as they are and Doccano's labels of that name not "
            f"written (rename the set or the Doccano account): {doc.id}: annotator/{bob}") in again.output
    assert next(corpus.documents()).annotations == after


@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck), phases=[Phase.generate])
@given(data=st.data())
def test_round_trip_random_documents(doccano_server, schema, tmp_path_factory, data):
    alphabet = st.sampled_from(list("abc XYZ.,") + ["😀", "𝐀", "e\u0301", "\u0308", "👩\u200d👧", "ß", "\n\n"])
    texts = data.draw(st.lists(st.lists(alphabet, min_size=3, max_size=30).map("".join).map(str.strip).filter(bool),
                               min_size=1, max_size=4, unique=True))
    labels = load_schema().entity_names()
    docs = []
    for text in texts:
        n = len(text)
        bounds = data.draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(1, n)).filter(lambda p: p[0] < p[1]),
                                    max_size=4))
        spans = tuple(Span(f"s{i}", a, b, text[a:b], data.draw(st.sampled_from(labels)), "entities", MACHINE)
                      for i, (a, b) in enumerate(bounds))
        trig = (Span("t", 0, 1, text[0], "Life:Die", "events", MACHINE),)
        victims = tuple(Argument("Victim", s.id) for s in spans[:2] if s.label == "PER")  # the schema's rule
        ev = (Event("e", "t", "Life:Die", victims, MACHINE),)
        docs.append(Document(document_id(text), text).with_set(AnnotationSet("silver", spans + trig, ev)))
    tmp = tmp_path_factory.mktemp("rt")
    corpus = make_corpus(tmp / "c", docs)
    with doccano_server.client() as client:
        project = new_project(client, schema, "rt")
        pushing.push(client, project, corpus, state=doccano_server.state, schema=load_schema())
        stamp = time.time_ns() % 10**8
        with annotator(client, doccano_server, project, f"rt{stamp}") as ann:
            for ex in client.examples(project["id"]):
                ann.toggle_confirmed(project["id"], ex["id"])
        report = pull_now(client, project, corpus, schema)
    assert report.rejects == []
    for doc in corpus.documents():
        silver, back = doc.annotations["silver"], doc.annotations[f"annotator/rt{stamp}"]
        assert sorted((s.start, s.end, s.text, s.label) for s in back.spans) == \
            sorted((s.start, s.end, s.text, s.label) for s in silver.spans)
        assert sorted((back.span(r.head).text, back.span(r.tail).text, r.type) for r in back.relations()) == \
            sorted((silver.span(r.head).text, silver.span(r.tail).text, r.type) for r in silver.relations())


SPLIT = '"The bridge is safe," the mayor said, "and it will reopen on Friday."'


def test_split_quotation_round_trips_as_parts_sharing_cue_and_source(client, schema, doccano_server, tmp_path):
    """A split quotation (one attribution per part, same CUE and SOURCE) survives push and an annotator's pull."""
    t = SPLIT
    spans = (span(t, "c", "said", "CUE", "attribution"), span(t, "s", "mayor", "SOURCE", "attribution"),
             span(t, "p1", "The bridge is safe", "CONTENT", "attribution"),
             span(t, "p2", "and it will reopen on Friday", "CONTENT", "attribution"))
    doc = Document(document_id(t), t).with_set(AnnotationSet("silver", spans, attributions=(
        Attribution("at1", "c", "s", "p1", MACHINE), Attribution("at1-2", "c", "s", "p2", MACHINE))))
    corpus = make_corpus(tmp_path / "c", [doc])
    project = new_project(client, schema)
    pushing.push(client, project, corpus, state=doccano_server.state, schema=load_schema())
    (ex,) = client.examples(project["id"])
    links = [r for r in client.relations(project["id"], ex["id"])]
    assert len(links) == 3  # one CUE->SOURCE link, two CUE->CONTENT links
    name = f"splitx{time.time_ns() % 10**6}"
    with annotator(client, doccano_server, project, name) as ann:
        ann.toggle_confirmed(project["id"], ex["id"])
    pull_now(client, project, corpus, schema)
    pulled = next(corpus.documents()).annotations[f"annotator/{name}"]
    parts = [(pulled.span(a.cue).text, pulled.span(a.source).text, pulled.span(a.content).text)
             for a in pulled.attributions]
    assert parts == [("said", "mayor", "The bridge is safe"), ("said", "mayor", "and it will reopen on Friday")]
    assert not (tmp_path / "c" / merge.REJECTS).exists()
