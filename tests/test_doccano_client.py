"""The REST client (doccano/client.py): login errors, the empty-selection guard, the task worker's
liveness (stopped, killed, busy) and a server that never answers.

Against a real Doccano 1.8.4 server (``doccano_server``, started once per test session)."""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time

import psutil
import pytest
from click.testing import CliRunner

from doccano_helpers import emoji_doc, generated_docs, make_corpus, new_project, plain_doc, server_copies
from spanbank.cli import main
from spanbank.doccano import server
from spanbank.doccano import push as pushing
from spanbank.schema import load_schema
from spanbank.doccano.client import DoccanoClient
from spanbank.errors import SyncError
from spanbank.formats import doccano as fmt


def test_login_wrong_password_is_a_clear_error_within_seconds(doccano_server):
    started = time.monotonic()
    with pytest.raises(SyncError) as info:
        DoccanoClient.login(doccano_server.url, "admin", "wrong-password")
    assert time.monotonic() - started < 10
    assert str(info.value) == (f"login to Doccano at {doccano_server.url} as 'admin' failed: POST {doccano_server.url}"
                               "/v1/auth/login/ -> HTTP 400: Unable to log in with provided credentials.; check the "
                               "password (DOCCANO_PASSWORD, or the 0600 password file of `spanbank doccano up`)")


def test_delete_examples_refuses_empty_selection(client, schema):
    project = new_project(client, schema)
    with pytest.raises(SyncError, match="empty selection"):
        client.delete_examples(project["id"], [])


def test_push_with_stopped_worker_fails_within_seconds(client, schema, doccano_server, tmp_path):
    corpus = make_corpus(tmp_path / "c", [emoji_doc()])
    project = new_project(client, schema)
    server.stop(doccano_server.state, ("worker",))
    try:
        started = time.monotonic()
        with pytest.raises(SyncError, match=r"local Doccano task worker( \(pid \d+\))? is not running; imports"):
            pushing.push(client, project, corpus, state=doccano_server.state, schema=load_schema())
        assert time.monotonic() - started < 20
    finally:
        server.ensure_up(doccano_server.state)
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
