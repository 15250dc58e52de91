"""The correction loop against a real Doccano 1.8.4 server: --refresh-silver, --order uncertainty, run --loop."""

from __future__ import annotations

import time
from dataclasses import replace

import orjson
from click.testing import CliRunner

from doccano_helpers import MACHINE, annotator, generated_docs, make_corpus, new_project, pull_now, span
from spanbank.cli import main
from spanbank.confidence import document_confidence, score_detail
from spanbank.doccano import push as pushing
from spanbank.schema import load_schema
from spanbank.formats import doccano as fmt
from spanbank.model import AnnotationSet, Argument, Attribution, Document, Event, document_id


def server_labels(client, project, example_id) -> bytes:
    """The example's spans and relations exactly as the server lists them."""
    return orjson.dumps([client.spans(project["id"], example_id), client.relations(project["id"], example_id)])


def server_fingerprint(client, project, example_id) -> str:
    names = {t["id"]: t["text"] for t in client.label_types(project["id"], "span")}
    rnames = {t["id"]: t["text"] for t in client.label_types(project["id"], "relation")}
    ents = [{**s, "label": names[s["label"]]} for s in client.spans(project["id"], example_id)]
    rels = [{**r, "type": rnames[r["type"]]} for r in client.relations(project["id"], example_id)]
    return fmt.fingerprint(ents, rels)


def with_koeln(doc: Document) -> Document:
    """``doc``'s silver with Köln added as GPE and Bob relabelled ORG (a different silver)."""
    silver = doc.annotation_set("silver")
    spans = tuple(replace(s, label="ORG") if s.text == "Bob" else s for s in silver.spans)
    return doc.with_set(replace(silver, spans=spans + (span(doc.text, "k", "Köln", "GPE", "entities"),)))


def test_refresh_silver_replaces_untouched_and_never_changes_human_touched(client, schema, doccano_server, tmp_path):
    docs = generated_docs(3, "refresh")
    corpus = make_corpus(tmp_path / "c", docs)
    project, pid = (p := new_project(client, schema)), p["id"]
    pushing.push(client, project, corpus, state=doccano_server.state, schema=load_schema())
    examples = {ex["meta"]["spanbank_id"]: ex["id"] for ex in client.examples(pid)}
    labelled, confirmed, untouched = (d.id for d in docs)
    types = {t["text"]: t["id"] for t in client.label_types(pid, "span")}
    with annotator(client, doccano_server, project, f"fixer{time.time_ns() % 10**6}") as ann:
        ann.create_span(pid, examples[labelled], 0, 6, types["ORG"])
        ann.toggle_confirmed(pid, examples[confirmed])
    # a refresh killed midway left the untouched example with a deleted and a duplicated machine span
    first = client.spans(pid, examples[untouched])
    client.delete_span(pid, examples[untouched], first[0]["id"])
    client.create_span(pid, examples[untouched], first[1]["start_offset"], first[1]["end_offset"], first[1]["label"])
    before = {d: server_labels(client, project, examples[d]) for d in (labelled, confirmed)}
    with corpus.lock():
        corpus.write(with_koeln(d) for d in corpus.documents())
    report = pushing.push(client, project, corpus, state=doccano_server.state, schema=load_schema(), refresh_silver=True)
    assert report.refresh == {"refreshed": [untouched], "human_touched": sorted([labelled, confirmed]), "unchanged": 0}
    assert {d: server_labels(client, project, examples[d]) for d in (labelled, confirmed)} == before
    new = {d.id: fmt.revision(d) for d in corpus.documents()}
    assert server_fingerprint(client, project, examples[untouched]) == new[untouched]
    assert len(client.spans(pid, examples[untouched])) == 4  # Alice, Bob, met, Köln: no duplicate left
    meta = next(ex for ex in client.examples(pid) if ex["id"] == examples[untouched])["meta"]
    assert meta["spanbank_rev"] == new[untouched] and sorted(meta) == sorted(fmt.META_KEYS)
    again = pushing.push(client, project, corpus, state=doccano_server.state, schema=load_schema(), refresh_silver=True)
    assert again.refresh == {"refreshed": [], "human_touched": sorted([labelled, confirmed]), "unchanged": 1}
    assert (again.uploaded, again.changed_since_push) == (0, sorted([labelled, confirmed]))
    assert {d: server_labels(client, project, examples[d]) for d in (labelled, confirmed)} == before
    # the pull sees the refreshed example as untouched; the touched ones changed locally since their push
    pulled = pull_now(client, project, corpus, schema)
    assert (pulled.updated, pulled.conflicts) == ([], sorted([labelled, confirmed]))


def doubtful_doc(text: str, doubts: int) -> Document:
    """A document whose silver has ``doubts`` (0-2) of the heuristic's doubt signals."""
    doc = Document(document_id(text), text)
    spans = [span(text, "a", "Alice", "PER", "entities"), span(text, "b", "Bob", "PER", "entities"),
             span(text, "m", "met", "Contact:Meet", "events")]
    args = (Argument("Entity", "a"),) if doubts < 2 else ()
    if doubts >= 1:
        spans.append(span(text, "b2", "Bob", "ORG", "entities", nth=1))
    event = Event("e", "m", "Contact:Meet", args, MACHINE)
    return doc.with_set(AnnotationSet("silver", tuple(spans), (event,)))


def test_document_confidence_heuristic_and_trained_scores():
    sure, unsure = doubtful_doc("Alice met Bob. Bob left.", 0), doubtful_doc("Alice met Bob. Bob left.", 2)
    assert document_confidence(sure).value == 1.0
    low = document_confidence(unsure)
    assert low.rates == {"entity_disagreement": 1 / 2, "bare_triggers": 1.0} and low.value == 0.25
    silver = sure.annotation_set("silver")
    scored = replace(silver.events[0], provenance=replace(MACHINE, detail=score_detail("en_core_web_sm 3.8", 0.4)))
    assert document_confidence(sure.with_set(replace(silver, events=(scored,)))).value == 0.4
    quote = 'Officials said "the talks will go on for weeks" on Monday.'
    q = Document(document_id(quote), quote)
    t = q.text
    cue, src = span(t, "c", "said", "CUE", "attribution"), span(t, "s", "Officials", "SOURCE", "attribution")
    content = span(t, "k", "the talks will go on for weeks", "CONTENT", "attribution")
    linked = q.with_set(AnnotationSet("silver", (cue, src, content), (), (Attribution("at", "c", "s", "k", MACHINE),)))
    assert document_confidence(linked).value == 1.0
    assert document_confidence(q.with_set(AnnotationSet("silver", (cue,)))).rates == \
        {"unlinked_cues": 1.0, "unattributed_quotes": 1.0}


def test_push_order_uncertainty_uploads_least_confident_first(client, schema, doccano_server, tmp_path):
    docs = [doubtful_doc(f"Alice met Bob in round {i}. Bob left.", doubts) for i, doubts in enumerate((0, 2, 1))]
    corpus = make_corpus(tmp_path / "c", docs)
    project = new_project(client, schema)
    report = pushing.push(client, project, corpus, state=doccano_server.state, schema=load_schema(), order="uncertainty")
    expected = [docs[1].id, docs[2].id, docs[0].id]
    assert report.order == expected
    listed = [ex["meta"]["spanbank_id"] for ex in client.examples(project["id"])]
    assert listed == expected
    assert [d.id for d in corpus.documents()] != expected  # not the corpus's own (id) order


def test_run_loop_twice_second_run_changes_nothing(client, schema, doccano_server, tmp_path, monkeypatch):
    monkeypatch.setenv("SPANBANK_STATE", str(doccano_server.state.parent))
    docs = generated_docs(4, "loop")
    corpus = make_corpus(tmp_path / "c", docs)
    project, pid = (p := new_project(client, schema)), p["id"]
    pushing.push(client, project, corpus, state=doccano_server.state, schema=load_schema())
    examples = {ex["meta"]["spanbank_id"]: ex["id"] for ex in client.examples(pid)}
    types = {t["text"]: t["id"] for t in client.label_types(pid, "span")}
    with annotator(client, doccano_server, project, f"looper{time.time_ns() % 10**6}") as ann:
        for d in docs[:2]:  # a correction: Köln is a GPE, then confirmed
            start = fmt.Utf16(d.text).to16(d.text.index("Köln"))
            ann.create_span(pid, examples[d.id], start, start + 4, types["GPE"])
            ann.toggle_confirmed(pid, examples[d.id])
    args = ["run", "--loop", "--corpus", str(corpus.path), "--project", project["name"], "--models",
            str(tmp_path / "models"), "--epochs", "1"]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    assert "2 document(s) updated" in first.output and "== train (entities)" in first.output
    assert ("the gate refused the trained model" in first.output) != ("is now the current pre-annotator" in first.output)
    assert "refresh-silver: " in first.output
    snapshot = lambda: ((corpus.path / "annotations.jsonl").read_bytes(), sorted(  # noqa: E731
        p.name for p in (tmp_path / "models").iterdir()), [server_labels(client, project, e) for e in examples.values()])
    before = snapshot()
    second = CliRunner().invoke(main, args)
    assert second.exit_code == 0, second.output
    assert "already trained on these human labels" in second.output
    assert "0 document(s) updated" in second.output
    assert "refresh-silver: 0 example(s) refreshed with the current silver, 0 kept because a human touched them, " \
           "4 unchanged" in second.output
    assert snapshot() == before


def test_run_loop_accepts_a_better_model_and_refreshes_only_untouched_examples(client, schema, doccano_server,
                                                                                 tmp_path, monkeypatch):
    from test_train import make_corpus as gold_corpus, synthetic_doc

    import random

    monkeypatch.setenv("SPANBANK_STATE", str(doccano_server.state.parent))
    corpus = gold_corpus(tmp_path / "c")  # 24 documents with gold PER/GPE/VEH/WEA: the rules never say VEH
    rng = random.Random(7)
    fresh = [synthetic_doc(rng, 3).without_sets() for _ in range(3)]
    with corpus.lock():
        corpus.write(sorted([*corpus.documents(), *fresh], key=lambda d: d.id))
    assert CliRunner().invoke(main, ["annotate", "--corpus", str(corpus.path)]).exit_code == 0
    project, pid = (p := new_project(client, schema)), p["id"]
    pushing.push(client, project, corpus, state=doccano_server.state, schema=load_schema())
    examples = {ex["meta"]["spanbank_id"]: ex["id"] for ex in client.examples(pid)}
    touched, untouched = fresh[0].id, [d.id for d in fresh[1:]]
    with annotator(client, doccano_server, project, f"acc{time.time_ns() % 10**6}") as ann:
        ann.toggle_confirmed(pid, examples[touched])
    kept = server_labels(client, project, examples[touched])
    args = ["run", "--loop", "--corpus", str(corpus.path), "--project", project["name"], "--models",
            str(tmp_path / "models"), "--epochs", "6"]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    assert "is now the current pre-annotator" in first.output
    assert "refresh-silver: 2 example(s) refreshed with the current silver" in first.output
    assert server_labels(client, project, examples[touched]) == kept
    names = {t["id"]: t["text"] for t in client.label_types(pid, "span")}
    assert all("VEH" in {names[s["label"]] for s in client.spans(pid, examples[d])} for d in untouched)
    agents = {s.provenance.agent for d in corpus.documents() if d.id in untouched for s in d.annotations["silver"].spans}
    assert any(a.startswith("spanbank.trained.entities@") for a in agents)
    before = ((corpus.path / "annotations.jsonl").read_bytes(), [server_labels(client, project, e) for e in examples.values()])
    second = CliRunner().invoke(main, args)
    assert second.exit_code == 0, second.output
    assert "already trained on these human labels (accepted" in second.output
    assert ((corpus.path / "annotations.jsonl").read_bytes(),
            [server_labels(client, project, e) for e in examples.values()]) == before
