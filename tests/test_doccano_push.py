"""Push (doccano/push.py): what the UI shows, no-op re-push, chunking, validation, the push lock.

Against a real Doccano 1.8.4 server (``doccano_server``, started once per test session)."""

from __future__ import annotations

import threading

import orjson
import pytest

from doccano_helpers import MACHINE, emoji_doc, generated_docs, make_corpus, new_project, plain_doc, server_copies, span
from spanbank.doccano import push as pushing
from spanbank.schema import load_schema
from spanbank.doccano.journal import journal_path
from spanbank.errors import CorpusError, SyncError
from spanbank.formats import doccano as fmt
from spanbank.model import AnnotationSet, Argument, Attribution, Document, Event, Span


def annotated(doc: Document) -> Document:
    """The seed document with hand-made silver entities, an event and two nested attributions."""
    t = doc.text
    spans = [span(t, "s1", "Esmail Ghani", "PER", "entities"), span(t, "s2", "Baghdad", "GPE", "entities"),
             span(t, "s3", "visited", "Contact:Meet", "events"), span(t, "s4", "Associated Press", "ORG", "entities"),
             span(t, "s5", "reported", "CUE", "attribution"), span(t, "s6", "the Associated Press", "SOURCE", "attribution")]
    content_end = t.index(", the Associated Press reported")
    spans.append(Span("s7", 0, content_end, t[:content_end], "CONTENT", "attribution", MACHINE))
    spans.append(span(t, "s8", "Iraq", "GPE", "entities"))
    event = Event("e1", "s3", "Contact:Meet", (Argument("Entity", "s1"), Argument("Place", "s2")), MACHINE)
    attribution = Attribution("a1", "s5", "s6", "s7", MACHINE)
    return doc.with_set(AnnotationSet("silver", tuple(spans), (event,), (attribution,)))


def test_push_seed_corpus_ui_shows_our_span_texts(client, schema, seed_corpus, doccano_server, tmp_path):
    docs = [annotated(d) for d in seed_corpus.documents()] + [emoji_doc()]
    corpus = make_corpus(tmp_path / "c", docs)
    project = new_project(client, schema)
    report = pushing.push(client, project, corpus, state=doccano_server.state, schema=load_schema())
    assert (report.uploaded, report.chunks) == (len(docs), 1)
    by_id = {d.id: d for d in docs}
    types = {t["id"]: t["text"] for t in client.label_types(project["id"], "span")}
    rtypes = {t["id"]: t["text"] for t in client.label_types(project["id"], "relation")}
    for ex in client.examples(project["id"]):
        doc = by_id[ex["meta"]["spanbank_id"]]
        assert ex["text"] == doc.text
        assert set(ex["meta"]) == set(fmt.META_KEYS) and None not in ex["meta"].values()
        shown = sorted((fmt.utf16_slice(ex["text"], s["start_offset"], s["end_offset"]), types[s["label"]])
                       for s in client.spans(project["id"], ex["id"]))
        assert shown == sorted((s.text, s.label) for s in doc.annotations["silver"].spans)
        spans = {s["id"]: s for s in client.spans(project["id"], ex["id"])}
        rels = sorted((fmt.utf16_slice(ex["text"], spans[r["from_id"]]["start_offset"], spans[r["from_id"]]["end_offset"]),
                       fmt.utf16_slice(ex["text"], spans[r["to_id"]]["start_offset"], spans[r["to_id"]]["end_offset"]),
                       rtypes[r["type"]]) for r in client.relations(project["id"], ex["id"]))
        silver = doc.annotations["silver"]
        assert rels == sorted((silver.span(r.head).text, silver.span(r.tail).text, r.type) for r in silver.relations())


def test_push_again_is_a_no_op(client, schema, doccano_server, tmp_path):
    corpus = make_corpus(tmp_path / "c", [emoji_doc()])
    project = new_project(client, schema)
    assert pushing.push(client, project, corpus, state=doccano_server.state, schema=load_schema()).uploaded == 1
    again = pushing.push(client, project, corpus, state=doccano_server.state, schema=load_schema())
    assert (again.uploaded, again.already_on_server, again.reconciled, again.changed_since_push) == (0, 1, False, [])
    assert client.count_examples(project["id"]) == 1


def test_chunk_builder_small_lead_chunk_then_full_chunks_skipping_known(tmp_path, monkeypatch):
    monkeypatch.setattr(pushing, "LEAD_CHUNK", 2)
    docs = sorted(generated_docs(8, "chunks"), key=lambda d: d.id)
    corpus = make_corpus(tmp_path / "c", docs)
    known = {docs[0].id: "stale-revision", docs[4].id: fmt.revision(docs[4])}
    report = pushing.PushReport()
    builder = pushing._ChunkBuilder(corpus, known, "admin", tmp_path, 3, report)
    thread = threading.Thread(target=builder.run, args=(threading.Event(),))
    thread.start()
    chunks = list(iter(builder.next, None))
    thread.join()
    assert [(c.skipped, len(c.batch)) for c in chunks] == [(1, 2), (1, 3), (0, 1)]
    sent = [orjson.loads(line) for c in chunks for line in c.path.read_bytes().splitlines()]
    assert sent == [fmt.payload(d, "admin") for d in docs if d.id not in known]
    assert [list(c.batch) for c in chunks] == [[d.id for d in docs[1:3]], [d.id for d in docs[3:4] + docs[5:7]],
                                               [docs[7].id]]
    assert (report.already_on_server, report.changed_since_push) == (2, [docs[0].id])


def test_push_refuses_a_corpus_validate_rejects(client, schema, doccano_server, tmp_path):
    corpus = make_corpus(tmp_path / "c", [plain_doc()])
    first, *rest = corpus.annotations_path.read_bytes().splitlines(keepends=True)
    corpus.annotations_path.write_bytes(first + first + b"".join(rest))  # a duplicated line
    project = new_project(client, schema)
    with pytest.raises(CorpusError) as info:
        pushing.push(client, project, corpus, state=doccano_server.state, schema=schema)
    message = str(info.value)
    assert message.startswith("not pushed: the corpus does not validate: 1 problem(s); ")
    assert message.endswith(f"\n  {corpus.annotations_path}:2: id 's1' is used twice in set silver (first on line 1)")
    assert client.count_examples(project["id"]) == 0


def test_push_lock_second_push_refused_and_killed_pushes_chunk_folders_removed(schema, doccano_server, tmp_path):
    docs = generated_docs(40, "lock")
    corpus = make_corpus(tmp_path / "c", docs)
    with doccano_server.client() as client:
        project = new_project(client, schema)
        journal = journal_path(doccano_server.state, client, project)
        leftovers = [doccano_server.state / f".{journal.stem}", doccano_server.state / ".push-k1ll3d_x"]
        for folder in leftovers:  # what killed pushes (this project's, and an older version's) leave behind
            folder.mkdir()
            (folder / "chunk-0.jsonl").write_bytes(b"{}\n" * 1000)
        outcomes: dict[str, object] = {}
        barrier = threading.Barrier(2)

        def run(name: str) -> None:
            with doccano_server.client() as own:
                barrier.wait()
                try:
                    outcomes[name] = pushing.push(own, project, corpus, state=doccano_server.state, schema=schema,
                                               chunk_size=10)
                except SyncError as exc:
                    outcomes[name] = exc

        threads = [threading.Thread(target=run, args=(n,)) for n in ("a", "b")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        errors = [o for o in outcomes.values() if isinstance(o, SyncError)]
        reports = [o for o in outcomes.values() if isinstance(o, pushing.PushReport)]
        assert len(errors) == 1 and len(reports) == 1 and reports[0].uploaded == 40
        assert str(errors[0]) == (f"{journal.with_suffix('.lock')}: another push to Doccano project "
                                  f"{project['name']!r} is running; wait for it to finish, then push again (it sends "
                                  "only what is still missing)")
        assert server_copies(client, project) == {d.id: 1 for d in docs}
        assert [f.exists() for f in leftovers] == [False, False] and journal.exists()
