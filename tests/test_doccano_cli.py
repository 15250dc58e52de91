"""The ``spanbank doccano`` commands (cli/doccano.py): status, setup, push, pull, logs; a wrong password.

Against a real Doccano 1.8.4 server (``doccano_server``, started once per test session)."""

from __future__ import annotations

import time

from click.testing import CliRunner

from doccano_helpers import emoji_doc, make_corpus
from spanbank.cli import main


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


def test_cli_wrong_password_exits_1(doccano_server, monkeypatch):
    monkeypatch.setenv("DOCCANO_URL", doccano_server.url)
    monkeypatch.setenv("DOCCANO_USERNAME", "admin")
    monkeypatch.setenv("DOCCANO_PASSWORD", "nope")
    result = CliRunner().invoke(main, ["doccano", "setup"])
    assert result.exit_code == 1
    assert "Unable to log in with provided credentials." in result.output
    assert "nope" not in result.output


def test_cli_push_and_pull_read_the_schema_given(tmp_path):
    """``--schema`` reaches push and pull (read before any server is contacted: a broken file stops both)."""
    corpus = make_corpus(tmp_path / "c", [emoji_doc()])
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\nversion: [unclosed\n", encoding="utf-8")
    for command in ("push", "pull"):
        result = CliRunner().invoke(main, ["doccano", command, "--corpus", str(corpus.path), "--schema", str(broken)])
        assert result.exit_code == 1, result.output
        assert "broken.yaml" in result.output
