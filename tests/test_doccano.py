"""Doccano sync against a real Doccano 1.8.4 server (started once per session by ``doccano_server``)."""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import signal
import socket
import threading
import time
import zipfile
from pathlib import Path

import orjson
import psutil
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from spanbank.cli import main
from spanbank.doccano import annotators, journal, merge, server
from spanbank.doccano import project as projects
from spanbank.doccano import pull as pulling
from spanbank.doccano import push as pushing
from spanbank.doccano.journal import journal_path
from spanbank.doccano.client import DoccanoClient
from spanbank.errors import CorpusError, SyncError
from spanbank.formats import doccano as fmt
from spanbank.model import (
    AnnotationSet,
    Argument,
    Attribution,
    Document,
    Event,
    Provenance,
    Span,
    document_id,
)
from spanbank.schema import load_schema
from spanbank.store import open_corpus

MACHINE = Provenance("test.silver.v1", "silver", "2026-01-01T00:00:00Z", "machine")
EMOJI_TEXT = "😀 𝐀𝐁 Cafe\u0301 👩\u200d👩\u200d👧 ok: Bob attacked the castle.\n\nOfficials said Bob fled 🚗 to Paris."
_names = itertools.count()


@pytest.fixture(scope="module")
def schema():
    return load_schema()


@pytest.fixture
def client(doccano_server):
    with doccano_server.client() as c:
        yield c


def new_project(client, schema, prefix="t"):
    name = f"{prefix}-{next(_names)}-{time.time_ns() % 10**8}"
    projects.ensure_project(client, schema, name)
    return projects.require_project(client, name)


def span(doc_text, sid, needle, label, layer, nth=0):
    start = -1
    for _ in range(nth + 1):
        start = doc_text.index(needle, start + 1)
    return Span(sid, start, start + len(needle), needle, label, layer, MACHINE)


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


def emoji_doc() -> Document:
    t = EMOJI_TEXT
    doc = Document(document_id(t), t)
    spans = (span(t, "x1", "Bob", "PER", "entities"), span(t, "x2", "attacked", "Conflict:Attack", "events"),
             span(t, "x3", "castle", "FAC", "entities"), span(t, "x4", "Paris", "GPE", "entities"),
             span(t, "x5", "Cafe\u0301", "ORG", "entities"), span(t, "x6", "said", "CUE", "attribution"),
             span(t, "x7", "Officials", "SOURCE", "attribution"), span(t, "x8", "Bob fled 🚗 to Paris", "CONTENT", "attribution"),
             span(t, "x9", "👩\u200d👩\u200d👧", "PER", "entities"))
    event = Event("e1", "x2", "Conflict:Attack", (Argument("Attacker", "x1"), Argument("Target", "x3")), MACHINE)
    return doc.with_set(AnnotationSet("silver", spans, (event,), (Attribution("a1", "x6", "x7", "x8", MACHINE),)))


def pull_now(client, project, corpus, schema, **options):
    """What `spanbank doccano pull` does: read over REST (no lock), then commit under the corpus lock."""
    return merge.commit(corpus, pulling.read(client, project, corpus, schema, **options))


def make_corpus(path: Path, docs) -> object:
    corpus = open_corpus(path)
    with corpus.lock():
        corpus.write(docs)
    return corpus


def pushed_emoji_doc(client, schema, doccano_server, tmp_path):
    """The emoji document in a fresh corpus, pushed to a new project: (doc, corpus, project, its example)."""
    doc = emoji_doc()
    corpus = make_corpus(tmp_path / "c", [doc])
    project = new_project(client, schema)
    pushing.push(client, project, corpus, state=doccano_server.state)
    return doc, corpus, project, next(client.examples(project["id"]))


def server_copies(client, project) -> dict[str, int]:
    counts: dict[str, int] = {}
    for ex in client.examples(project["id"]):
        sid = ex["meta"]["spanbank_id"]
        counts[sid] = counts.get(sid, 0) + 1
    return counts


def annotator(client, doccano_server, project, name) -> DoccanoClient:
    """A real annotator account (created through the REST API) that is a member of ``project``."""
    password = f"pw-{name}-{time.time_ns()}"
    user = client.create_user(name, password)
    client.add_member(project["id"], user["id"], "annotator")
    return DoccanoClient.login(doccano_server.url, name, password)


# --- push journal (no server) ---------------------------------------------------------------------


def test_read_journal_skips_a_line_torn_by_a_kill(tmp_path):
    path = tmp_path / "push-x.jsonl"
    lines = [{"begin": 1, "docs": {"a": "r1"}}, {"task": 1, "id": "t1"}, {"done": 1},
             {"begin": 2, "docs": {"b": "r2"}}, {"task": 2, "id": "t2"}]
    path.write_bytes(b"".join(orjson.dumps(rec) + b"\n" for rec in lines) + b'{"done": 2')  # killed mid-write
    assert journal.read_journal(path) == ({"a": "r1"}, ["t2"])  # chunk 2 counts as begun, not done
    assert journal.read_journal(tmp_path / "none.jsonl") == ({}, [])


def test_export_rows_a_bad_line_names_the_member_and_line(tmp_path):
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("admin.jsonl", b'{"id": 1, "spanbank_id": "d1", "text": "x"}\n{"id": 2, "spanb\n')
    rows = pulling._export_rows(archive)
    assert next(rows)["spanbank_id"] == "d1"
    with pytest.raises(SyncError) as info:
        next(rows)
    assert (info.value.path, info.value.line) == ("export.zip:admin.jsonl", 2)
    assert str(info.value).startswith("export.zip:admin.jsonl:2:")


# --- setup ---------------------------------------------------------------------------------------


def test_ensure_project_idempotent_and_reports_drift(client, schema):
    name = f"setup-{time.time_ns()}"
    first = projects.ensure_project(client, schema, name)
    assert first.created and len(first.labels_created) == len(list(schema.all_labels())) + len(schema.role_names()) + 2
    client.create_label_type(first.project_id, "span", {"text": "NOT-IN-SCHEMA", "background_color": "#000000"})
    second = projects.ensure_project(client, schema, name)
    assert (second.created, second.labels_created, second.labels_updated, second.settings_changed) == (False, [], [], [])
    assert second.drift == ["span label 'NOT-IN-SCHEMA' is on the server but not in the schema"]
    types = {t["text"]: t for t in client.label_types(first.project_id, "span")}
    assert types["PER"]["suffix_key"] == "p" and types["PER"]["background_color"] == "#1f77b4"
    project = projects.require_project(client, name)
    assert project["collaborative_annotation"] and project["use_relation"] and not project["grapheme_mode"]
    assert project["guideline"].startswith("#") or len(project["guideline"]) > 100


# --- push ----------------------------------------------------------------------------------------


def test_push_seed_corpus_ui_shows_our_span_texts(client, schema, seed_corpus, doccano_server, tmp_path):
    docs = [annotated(d) for d in seed_corpus.documents()] + [emoji_doc()]
    corpus = make_corpus(tmp_path / "c", docs)
    project = new_project(client, schema)
    report = pushing.push(client, project, corpus, state=doccano_server.state)
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
    assert pushing.push(client, project, corpus, state=doccano_server.state).uploaded == 1
    again = pushing.push(client, project, corpus, state=doccano_server.state)
    assert (again.uploaded, again.already_on_server, again.reconciled, again.changed_since_push) == (0, 1, False, [])
    assert client.count_examples(project["id"]) == 1


def generated_docs(n: int, tag: str) -> list[Document]:
    docs = []
    for i in range(n):
        text = f"Report {tag} {i}: 🚀 Alice met Bob in Köln.\n\nThey said nothing."
        d = Document(document_id(text), text)
        spans = (span(text, "a", "Alice", "PER", "entities"), span(text, "b", "Bob", "PER", "entities"),
                 span(text, "m", "met", "Contact:Meet", "events"))
        ev = Event("e", "m", "Contact:Meet", (Argument("Entity", "a"), Argument("Entity", "b")), MACHINE)
        docs.append(d.with_set(AnnotationSet("silver", spans, (ev,))))
    return docs


def test_push_resumes_after_server_killed_each_document_once(client, schema, doccano_server, tmp_path):
    docs = generated_docs(30, "kill")
    corpus = make_corpus(tmp_path / "c", docs)
    project = new_project(client, schema)
    killed = []

    def kill_after_first_chunk(n):
        if not killed:
            pid = server.running_pid(doccano_server.state, "web")
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    fast = DoccanoClient(client.url, client._http.headers["Authorization"].split()[1], retries=2, backoff=0.2)
    with pytest.raises(SyncError):
        pushing.push(fast, project, corpus, state=doccano_server.state, chunk_size=10, progress=kill_after_first_chunk)
    assert killed
    server.ensure_up(doccano_server.state)
    with doccano_server.client() as again:
        report = pushing.push(again, project, corpus, state=doccano_server.state, chunk_size=10)
        # how far the killed run got depends on timing (a dying gunicorn may still finish a request)
        assert report.already_on_server >= 10 and report.uploaded + report.already_on_server == 30
        assert server_copies(again, project) == {d.id: 1 for d in docs}


def test_push_removes_importer_made_duplicates(client, schema, doccano_server, tmp_path):
    docs = generated_docs(6, "dup")
    corpus = make_corpus(tmp_path / "c", docs)
    project = new_project(client, schema)
    pushing.push(client, project, corpus, state=doccano_server.state)
    raw = tmp_path / "raw.jsonl"
    raw.write_bytes(b"".join(fmt.iter_payloads(iter(docs[:4]), "admin")))
    client.wait_task(client.upload(project["id"], raw))  # what a retried import task leaves behind
    assert client.count_examples(project["id"]) == 10
    report = pushing.push(client, project, corpus, state=doccano_server.state)
    assert (report.duplicates_removed, report.uploaded, report.reconciled) == (4, 0, True)
    assert server_copies(client, project) == {d.id: 1 for d in docs}


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


def test_delete_examples_refuses_empty_selection(client, schema):
    project = new_project(client, schema)
    with pytest.raises(SyncError, match="empty selection"):
        client.delete_examples(project["id"], [])


# --- pull ----------------------------------------------------------------------------------------


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


def test_pull_untouched_examples_cost_no_per_example_calls(client, schema, doccano_server, tmp_path):
    corpus = make_corpus(tmp_path / "c", generated_docs(3, "quiet"))
    project = new_project(client, schema)
    pushing.push(client, project, corpus, state=doccano_server.state)
    before = (tmp_path / "c" / "annotations.jsonl").read_bytes()
    paths: list[str] = []
    client._http.event_hooks["request"] = [lambda request: paths.append(request.url.path)]
    report = pull_now(client, project, corpus, schema)
    assert (report.examples, report.unchanged, report.updated, report.conflicts) == (3, 3, [], [])
    assert [p for p in paths if "/examples/" in p or p.endswith("/members")] == []
    assert (tmp_path / "c" / "annotations.jsonl").read_bytes() == before


def test_pull_conflict_needs_force_and_changed_text_is_an_error(client, schema, doccano_server, tmp_path):
    doc, corpus, project, ex = pushed_emoji_doc(client, schema, doccano_server, tmp_path)
    stamp = time.time_ns() % 10**6
    with annotator(client, doccano_server, project, f"ann3x{stamp}") as ann3:
        ann3.toggle_confirmed(project["id"], ex["id"])
    edited = doc.with_set(AnnotationSet("silver", doc.annotations["silver"].spans[:3]))
    make_corpus(tmp_path / "c", [edited])
    report = pull_now(client, project, corpus, schema)
    assert (report.conflicts, report.updated) == ([doc.id], [])
    assert "annotator/" not in str(list(next(corpus.documents()).annotations))
    forced = pull_now(client, project, corpus, schema, force=True)
    assert forced.updated == [doc.id] and forced.annotators == [f"ann3x{stamp}"]
    client.request("PATCH", f"/v1/projects/{project['id']}/examples/{ex['id']}", json={"text": doc.text + " edited"})
    with pytest.raises(SyncError, match=f"document {doc.id} .*text on the server differs"):
        pull_now(client, project, corpus, schema)


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
        pushing.push(client, project, corpus, state=doccano_server.state)
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


# --- failures ------------------------------------------------------------------------------------


def test_login_wrong_password_is_a_clear_error_within_seconds(doccano_server):
    started = time.monotonic()
    with pytest.raises(SyncError) as info:
        DoccanoClient.login(doccano_server.url, "admin", "wrong-password")
    assert time.monotonic() - started < 10
    assert str(info.value) == (f"login to Doccano at {doccano_server.url} as 'admin' failed: POST {doccano_server.url}"
                               "/v1/auth/login/ -> HTTP 400: Unable to log in with provided credentials.; check the "
                               "password (DOCCANO_PASSWORD, or the 0600 password file of `spanbank doccano up`)")


def test_cli_wrong_password_exits_1(doccano_server, monkeypatch):
    monkeypatch.setenv("DOCCANO_URL", doccano_server.url)
    monkeypatch.setenv("DOCCANO_USERNAME", "admin")
    monkeypatch.setenv("DOCCANO_PASSWORD", "nope")
    result = CliRunner().invoke(main, ["doccano", "setup"])
    assert result.exit_code == 1
    assert "Unable to log in with provided credentials." in result.output
    assert "nope" not in result.output


def test_push_with_stopped_worker_fails_within_seconds(client, schema, doccano_server, tmp_path):
    corpus = make_corpus(tmp_path / "c", [emoji_doc()])
    project = new_project(client, schema)
    server.stop(doccano_server.state, ("worker",))
    try:
        started = time.monotonic()
        with pytest.raises(SyncError, match=r"local Doccano task worker( \(pid \d+\))? is not running; imports"):
            pushing.push(client, project, corpus, state=doccano_server.state)
        assert time.monotonic() - started < 20
    finally:
        server.ensure_up(doccano_server.state)
    assert client.count_examples(project["id"]) == 0


# --- CLI -----------------------------------------------------------------------------------------


def test_cli_setup_push_pull_status(doccano_server, tmp_path, monkeypatch):
    monkeypatch.setenv("SPANBANK_STATE", str(doccano_server.state.parent))
    corpus = make_corpus(tmp_path / "c", [emoji_doc()])
    runner = CliRunner()
    name = f"cli-{time.time_ns()}"
    status = runner.invoke(main, ["doccano", "status", "--json"])
    assert status.exit_code == 0 and '"answering": true' in status.output
    setup = runner.invoke(main, ["doccano", "setup", "--project", name])
    assert setup.exit_code == 0, setup.output
    assert "created: " in setup.output and "label(s) created" in setup.output
    push = runner.invoke(main, ["doccano", "push", "--corpus", str(corpus.path), "--project", name])
    assert push.exit_code == 0, push.output
    assert "uploaded 1 document(s) in 1 chunk(s); 0 already on the server; 0 duplicate(s) removed" in push.output
    pull = runner.invoke(main, ["doccano", "pull", "--corpus", str(corpus.path), "--project", name])
    assert pull.exit_code == 0, pull.output
    assert "1 example(s) read: 0 document(s) updated, 1 unchanged; annotators: none" in pull.output
    assert [d.annotators() for d in corpus.documents()] == [[]]
    logs = runner.invoke(main, ["doccano", "logs", "web", "-n", "5"])
    assert logs.exit_code == 0


# --- issue 16: pull merges under the lock, owns only its sets, conflicts resolve -------------------

PLAIN = "Alice met Bob in Paris on Monday.\n\nOfficials said nothing."


def plain_doc() -> Document:
    t = PLAIN
    return Document(document_id(t), t).with_set(
        AnnotationSet("silver", (span(t, "s1", "Alice", "PER", "entities"), span(t, "s2", "Paris", "GPE", "entities"))))


def brat_folder(folder: Path, text: str, needles: list[tuple[str, str]]) -> Path:
    """A brat .txt/.ann pair over ``text`` with one entity per (needle, label)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "a.txt").write_text(text, encoding="utf-8")
    lines = [f"T{i}\t{label} {text.index(n)} {text.index(n) + len(n)}\t{n}\n" for i, (n, label) in enumerate(needles, 1)]
    (folder / "a.ann").write_text("".join(lines), encoding="utf-8")
    return folder


def cli_import(corpus, folder: Path, *options: str):
    result = CliRunner().invoke(main, ["import", "--format", "brat", str(folder), "--corpus", str(corpus.path), *options])
    assert result.exit_code == 0 and "1 attached to existing documents" in result.output, result.output
    return result


def pushed_plain_doc(client, schema, doccano_server, tmp_path):
    doc = plain_doc()
    corpus = make_corpus(tmp_path / "c", [doc])
    project = new_project(client, schema)
    pushing.push(client, project, corpus, state=doccano_server.state, schema=schema)
    return doc, corpus, project, next(client.examples(project["id"]))


def test_pull_read_writes_nothing_and_commit_merges_into_the_current_version(client, schema, doccano_server,
                                                                             tmp_path):
    doc, corpus, project, ex = pushed_plain_doc(client, schema, doccano_server, tmp_path)
    name = f"rd{time.time_ns() % 10**6}"
    with annotator(client, doccano_server, project, name) as ann:
        ann.toggle_confirmed(project["id"], ex["id"])
    files = {p.name: p.read_bytes() for p in corpus.path.iterdir() if p.is_file()}
    pulled = pulling.read(client, project, corpus, schema)
    assert {p.name: p.read_bytes() for p in corpus.path.iterdir() if p.is_file()} == files  # read wrote nothing
    assert list(pulled.found) == [doc.id] and pulled.changes()
    cli_import(corpus, brat_folder(tmp_path / "brat", PLAIN, [("Monday", "TIME")]), "--set", "annotator/dora",
               "--annotator", "dora")  # another writer, between the read and the commit
    report = merge.commit(corpus, pulled)
    assert (report.updated, report.conflicts, report.changed_during_pull) == ([doc.id], [], [doc.id])
    after = next(corpus.documents()).annotations
    assert [(s.text, s.label) for s in after["annotator/dora"].spans] == [("Monday", "TIME")]
    assert {(s.text, s.label) for s in after[f"annotator/{name}"].spans} == {("Alice", "PER"), ("Paris", "GPE")}
    assert report.round == corpus.rounds()[-1]["round"]


def test_merge_is_pure_keeps_foreign_sets_and_leaves_conflicts_unless_forced():
    doc = plain_doc()
    pulled_prov = Provenance("eve", "gold", "2026-01-01T00:00:00Z", "human", "doccano p#1")
    eve = AnnotationSet("annotator/eve", (Span("d1", 0, 5, "Alice", "PER", "entities", pulled_prov),))
    bob_prov = Provenance("bob", "gold", "", "import", "a.ann")
    bob_here = AnnotationSet("annotator/bob", (Span("T1", 10, 13, "Bob", "PER", "entities", bob_prov),))
    bob_there = AnnotationSet("annotator/bob", (Span("d2", 17, 22, "Paris", "GPE", "entities", pulled_prov),))
    current = doc.with_set(bob_here)

    def pulled(server_rev, force=False):
        found = merge.Found(server_rev, current, [eve, bob_there], True, ["annotator/bob"])
        return merge.Pulled("p", {doc.id: found}, {}, force, merge.PullReport())

    same = pulled(fmt.revision(doc))
    (out,) = same.merged([current])
    assert out.annotations["annotator/bob"] == bob_here and out.annotations["annotator/eve"] == eve
    assert out.annotations["silver"] == doc.annotations["silver"]
    assert (same.report.updated, same.report.kept_sets, same.report.changed_during_pull) == \
        ([doc.id], [f"{doc.id}: annotator/bob"], [])
    stale = pulled("0" * 16)  # the pushed set was edited locally since the push
    assert list(stale.merged([current])) == [current] and stale.report.conflicts == [doc.id]
    forced = pulled("0" * 16, force=True)
    (taken,) = forced.merged([current])
    assert taken.annotations["annotator/eve"] == eve and forced.report.resolved == [doc.id]
    assert forced.report.resolutions == {doc.id: ("0" * 16, fmt.revision(doc))}
    assert "resolutions" not in forced.report.as_dict()


def test_pull_keeps_a_gold_set_imported_while_it_runs(client, schema, doccano_server, tmp_path):
    doc, corpus, project, ex = pushed_plain_doc(client, schema, doccano_server, tmp_path)
    with annotator(client, doccano_server, project, f"conc{time.time_ns() % 10**6}") as ann:
        ann.toggle_confirmed(project["id"], ex["id"])
    folder = brat_folder(tmp_path / "brat", PLAIN, [("Bob", "PER")])
    imported = []

    def import_during_pull(request):  # the pull has read the document and now asks the server for its labels
        if request.url.path.endswith("/spans") and not imported:
            imported.append(cli_import(corpus, folder, "--annotator", "carol"))

    client._http.event_hooks["request"] = [import_during_pull]
    report = pull_now(client, project, corpus, schema)
    assert imported
    gold = next(corpus.documents()).annotations["gold"]
    assert [(s.text, s.label, s.provenance.agent) for s in gold.spans] == [("Bob", "PER", "carol")]
    # the import changed what the push sent (gold now), so the document is a conflict, not updated
    assert (report.changed_during_pull, report.conflicts, report.updated) == ([doc.id], [doc.id], [])


def test_pull_merges_its_sets_into_a_document_changed_while_it_runs(client, schema, doccano_server, tmp_path):
    doc, corpus, project, ex = pushed_plain_doc(client, schema, doccano_server, tmp_path)
    name = f"mrg{time.time_ns() % 10**6}"
    with annotator(client, doccano_server, project, name) as ann:
        ann.toggle_confirmed(project["id"], ex["id"])
    folder = brat_folder(tmp_path / "brat", PLAIN, [("Monday", "TIME")])
    hooked = []

    def import_during_pull(request):
        if request.url.path.endswith("/spans") and not hooked:
            hooked.append(cli_import(corpus, folder, "--set", "annotator/dora", "--annotator", "dora"))

    client._http.event_hooks["request"] = [import_during_pull]
    report = pull_now(client, project, corpus, schema)
    assert hooked and (report.updated, report.conflicts, report.changed_during_pull) == ([doc.id], [], [doc.id])
    pulled = next(corpus.documents())
    assert [(s.text, s.label) for s in pulled.annotations["annotator/dora"].spans] == [("Monday", "TIME")]
    assert {(s.text, s.label) for s in pulled.annotations[f"annotator/{name}"].spans} == {("Alice", "PER"),
                                                                                           ("Paris", "GPE")}


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


def test_cli_pull_force_resolves_a_conflict_for_good(client, schema, doccano_server, tmp_path, monkeypatch):
    doc, corpus, project, ex = pushed_plain_doc(client, schema, doccano_server, tmp_path)
    name = f"res{time.time_ns() % 10**6}"
    with annotator(client, doccano_server, project, name) as ann:
        ann.toggle_confirmed(project["id"], ex["id"])
    edited = doc.with_set(AnnotationSet("silver", doc.annotations["silver"].spans[:1]))
    make_corpus(corpus.path, [edited])
    monkeypatch.setenv("SPANBANK_STATE", str(doccano_server.state.parent))
    pull = ["doccano", "pull", "--corpus", str(corpus.path), "--project", project["name"]]
    runner = CliRunner()
    first = runner.invoke(main, pull)
    assert first.exit_code == 1
    assert (f"1 conflict(s): changed locally since the push, not updated; take Doccano's labels for them with "
            f"`spanbank doccano pull --force`: {doc.id}") in first.output
    forced = runner.invoke(main, [*pull, "--force"])
    assert forced.exit_code == 0, forced.output
    assert f"1 conflict(s) resolved by taking Doccano's labels (recorded in {merge.RESOLVED}): {doc.id}" in forced.output
    pulled = next(corpus.documents())
    assert pulled.annotations["silver"] == edited.annotations["silver"] and pulled.annotators() == [name]
    (record,) = [orjson.loads(line) for line in (corpus.path / merge.RESOLVED).read_bytes().splitlines()]
    assert (record["doc"], record["project"], record["server_rev"], record["local_rev"]) == \
        (doc.id, project["name"], fmt.revision(doc), fmt.revision(edited))
    later = runner.invoke(main, pull)
    assert later.exit_code == 0 and "conflict" not in later.output, later.output
    make_corpus(corpus.path, [pulled.with_set(AnnotationSet("silver", ()))])  # edited again: a new conflict
    assert pull_now(client, project, corpus, schema).conflicts == [doc.id]


# --- issue 16: state files, validation, worker liveness, silent server, ports, push lock ------------


def test_state_files_are_private_and_up_tightens_them(doccano_server):
    state = doccano_server.state

    def wrong_modes() -> dict[str, str]:
        out = {}
        for root, dirs, files in os.walk(state):
            dirs[:] = [d for d in dirs if Path(root, d) not in (state / "tools", state / "bin")]
            for name in dirs + files:
                path = Path(root, name)
                want = 0o700 if path.is_dir() else 0o600
                if path.stat().st_mode & 0o777 != want:
                    out[str(path.relative_to(state))] = oct(path.stat().st_mode & 0o777)
        return out

    names = {str(p.relative_to(state)) for p in state.rglob("*")}
    assert {"home", "home/db.sqlite3", "secret.json", "server.json", "web.pid", "worker.pid", "logs",
            "logs/web.log", "logs/worker.log"} <= names
    assert (state.stat().st_mode & 0o777, wrong_modes()) == (0o700, {})
    (state / "home" / "db.sqlite3").chmod(0o644)
    (state / "home").chmod(0o755)
    (state / "logs" / "web.log").chmod(0o644)
    state.chmod(0o755)
    server.ensure_up(state)
    assert (state.stat().st_mode & 0o777, wrong_modes()) == (0o700, {})


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


def kill_tree(pid: int) -> None:
    """SIGKILL a process we started and its children, by pid."""
    proc = psutil.Process(pid)
    children = proc.children(recursive=True)
    proc.kill()
    for child in children:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()
    psutil.wait_procs([proc, *children], timeout=10)


def test_push_worker_killed_mid_push_fails_fast_then_resumes_once(schema, doccano_server, tmp_path):
    docs = generated_docs(15, "wk")
    corpus = make_corpus(tmp_path / "c", docs)
    killed = []

    def kill_worker_after_first_chunk(n):
        if not killed:
            killed.append(server.running_pid(doccano_server.state, "worker"))
            kill_tree(killed[0])

    with doccano_server.client() as client:
        project = new_project(client, schema)
        try:
            with pytest.raises(SyncError) as info:
                pushing.push(client, project, corpus, state=doccano_server.state, schema=schema, chunk_size=5,
                          progress=kill_worker_after_first_chunk, task_timeout=120)
        finally:
            server.ensure_up(doccano_server.state)
        assert str(info.value).startswith(f"the local Doccano task worker (pid {killed[0]}) is not running, so "
                                          "Doccano task ")
        assert str(info.value).endswith("cannot finish; restart it with `spanbank doccano up` (or ask the server's "
                                        "admin), then run the command again (a push resumes where it stopped)")
        report = pushing.push(client, project, corpus, state=doccano_server.state, schema=schema, chunk_size=5)
        assert report.already_on_server >= 5 and report.uploaded + report.already_on_server == 15
        assert server_copies(client, project) == {d.id: 1 for d in docs}


class SilentServer:
    """A loopback socket that accepts connections and never answers; counts them."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.accepted: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                self.accepted.append(self.sock.accept()[0])

    def close(self) -> None:
        self.sock.close()
        for conn in self.accepted:
            conn.close()


def test_cli_push_to_a_silent_server_fails_after_one_bounded_attempt(tmp_path, monkeypatch):
    silent = SilentServer()
    corpus = make_corpus(tmp_path / "c", [plain_doc()])
    monkeypatch.setenv("DOCCANO_URL", silent.url)
    monkeypatch.setenv("DOCCANO_TOKEN", "not-a-real-token")
    try:
        result = CliRunner().invoke(main, ["doccano", "push", "--corpus", str(corpus.path)])
    finally:
        silent.close()
    assert result.exit_code == 1
    assert (f"GET {silent.url}/v1/projects: no answer within 25 s (ReadTimeout); the server accepts connections but "
            "does not answer: check it (`spanbank doccano status`, `spanbank doccano logs web`)") in result.output
    assert len(silent.accepted) == 1 and "not-a-real-token" not in result.output


def time_wait_on(port: int) -> None:
    """Leave a TIME-WAIT socket on local port ``port`` (the side that closes first keeps it), as a killed server does."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen()
        with socket.create_connection(("127.0.0.1", port)) as peer:
            conn, _ = listener.accept()
            conn.close()
            peer.recv(1)
    assert any(c.status == psutil.CONN_TIME_WAIT and c.laddr.port == port for c in psutil.net_connections("tcp"))


def test_cli_up_explicit_port_is_used_despite_time_wait_or_refused(doccano_server, monkeypatch):
    monkeypatch.setenv("SPANBANK_STATE", str(doccano_server.state.parent))
    monkeypatch.setattr(server, "PORT_WAIT", 1.0)
    runner = CliRunner()
    port = int(doccano_server.url.rsplit(":", 1)[1])
    other = runner.invoke(main, ["doccano", "up", "--port", str(port + 1)])
    assert other.exit_code == 1 and f"the local Doccano server already runs on port {port}, not {port + 1}" in other.output
    server.stop(doccano_server.state, ("web",))
    try:
        with socket.socket() as holder:  # a live listener: refused, never swapped
            holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            holder.bind(("127.0.0.1", port))
            holder.listen()
            refused = runner.invoke(main, ["doccano", "up", "--port", str(port)])
        assert refused.exit_code == 1
        assert f"port {port} on 127.0.0.1 is in use (by pid {os.getpid()}); waited 1 s for it" in refused.output
        time_wait_on(port)
        started = runner.invoke(main, ["doccano", "up", "--port", str(port)])
        assert started.exit_code == 0, started.output
        assert f"Doccano runs at http://127.0.0.1:{port} " in started.output
    finally:
        server.ensure_up(doccano_server.state)
    assert doccano_server.url == f"http://127.0.0.1:{port}"


def test_push_waits_for_a_busy_restarted_worker_instead_of_calling_it_dead(schema, doccano_server, tmp_path):
    corpus = make_corpus(tmp_path / "c", [plain_doc()])
    backlog = tmp_path / "backlog.jsonl"
    backlog.write_bytes(b"".join(fmt.iter_payloads(iter(generated_docs(300, "busy")), "admin")))
    with doccano_server.client() as client:
        scratch, project = new_project(client, schema, "scratch"), new_project(client, schema)
        server.stop(doccano_server.state, ("worker",))
        try:
            queued = client.upload(scratch["id"], backlog)  # waits in the broker for the worker
        finally:
            server.ensure_up(doccano_server.state)
        # restarted with a queue, and held (SIGSTOP) so that it stays alive but cannot answer the health check
        worker = psutil.Process(server.running_pid(doccano_server.state, "worker"))
        held = [worker, *worker.children(recursive=True)]
        for proc in held:
            proc.suspend()

        def release(request):  # the push polls its import task: it has judged the worker by now
            if "/tasks/status/" in request.url.path:
                for proc in held:
                    proc.resume()

        client._http.event_hooks["request"] = [release]
        try:
            report = pushing.push(client, project, corpus, state=doccano_server.state, schema=schema)
        finally:
            for proc in held:
                proc.resume()
        assert report.uploaded == 1 and report.worker_note is not None
        assert re.fullmatch(r"the Doccano task worker is alive but busy with queued tasks \([1-9]\d* waiting\): this run "
                            r"waits for them", report.worker_note), report.worker_note
        client.wait_task(queued)


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
    pushing.push(client, project, corpus, state=doccano_server.state)
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
