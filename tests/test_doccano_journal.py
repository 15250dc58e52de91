"""The push journal and resumption (doccano/journal.py): torn lines, killed pushes, importer duplicates.

Against a real Doccano 1.8.4 server (``doccano_server``, started once per test session)."""

from __future__ import annotations

import os
import signal

import orjson
import pytest

from doccano_helpers import generated_docs, make_corpus, new_project, server_copies
from spanbank.doccano import journal, server
from spanbank.doccano import push as pushing
from spanbank.schema import load_schema
from spanbank.doccano.client import DoccanoClient
from spanbank.errors import SyncError
from spanbank.formats import doccano as fmt


def test_read_journal_skips_a_line_torn_by_a_kill(tmp_path):
    path = tmp_path / "push-x.jsonl"
    lines = [{"begin": 1, "docs": {"a": "r1"}}, {"task": 1, "id": "t1"}, {"done": 1},
             {"begin": 2, "docs": {"b": "r2"}}, {"task": 2, "id": "t2"}]
    path.write_bytes(b"".join(orjson.dumps(rec) + b"\n" for rec in lines) + b'{"done": 2')  # killed mid-write
    assert journal.read_journal(path) == ({"a": "r1"}, ["t2"])  # chunk 2 counts as begun, not done
    assert journal.read_journal(tmp_path / "none.jsonl") == ({}, [])


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
        pushing.push(fast, project, corpus, state=doccano_server.state, schema=load_schema(), chunk_size=10, progress=kill_after_first_chunk)
    assert killed
    server.ensure_up(doccano_server.state)
    with doccano_server.client() as again:
        report = pushing.push(again, project, corpus, state=doccano_server.state, schema=load_schema(), chunk_size=10)
        # how far the killed run got depends on timing (a dying gunicorn may still finish a request)
        assert report.already_on_server >= 10 and report.uploaded + report.already_on_server == 30
        assert server_copies(again, project) == {d.id: 1 for d in docs}


def test_push_removes_importer_made_duplicates(client, schema, doccano_server, tmp_path):
    docs = generated_docs(6, "dup")
    corpus = make_corpus(tmp_path / "c", docs)
    project = new_project(client, schema)
    pushing.push(client, project, corpus, state=doccano_server.state, schema=load_schema())
    raw = tmp_path / "raw.jsonl"
    raw.write_bytes(b"".join(fmt.iter_payloads(iter(docs[:4]), "admin")))
    client.wait_task(client.upload(project["id"], raw))  # what a retried import task leaves behind
    assert client.count_examples(project["id"]) == 10
    report = pushing.push(client, project, corpus, state=doccano_server.state, schema=load_schema())
    assert (report.duplicates_removed, report.uploaded, report.reconciled) == (4, 0, True)
    assert server_copies(client, project) == {d.id: 1 for d in docs}
