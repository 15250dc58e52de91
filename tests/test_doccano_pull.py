"""Pull (doccano/pull.py, the read) and its merge (doccano/merge.py, the commit under the corpus lock):
unchanged examples, conflicts and --force, writers running during a pull.

Against a real Doccano 1.8.4 server (``doccano_server``, started once per test session)."""

from __future__ import annotations

import time
import zipfile

import orjson
import pytest
from click.testing import CliRunner

from doccano_helpers import (
    PLAIN,
    annotator,
    brat_folder,
    cli_import,
    generated_docs,
    make_corpus,
    new_project,
    plain_doc,
    pull_now,
    pushed_emoji_doc,
    pushed_plain_doc,
)
from spanbank.cli import main
from spanbank.doccano import merge
from spanbank.doccano import pull as pulling
from spanbank.doccano import push as pushing
from spanbank.schema import load_schema
from spanbank.errors import SyncError
from spanbank.formats import doccano as fmt
from spanbank.model import AnnotationSet, Provenance, Span


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


def test_pull_untouched_examples_cost_no_per_example_calls(client, schema, doccano_server, tmp_path):
    corpus = make_corpus(tmp_path / "c", generated_docs(3, "quiet"))
    project = new_project(client, schema)
    pushing.push(client, project, corpus, state=doccano_server.state, schema=load_schema())
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
