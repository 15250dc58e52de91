"""The CLI shell as a new user meets it: missing corpora, usage errors, OS errors, the quick start, diff by version."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
from click.testing import CliRunner

from conftest import SEEDS
from spanbank.cli import main
from spanbank.store import open_corpus


@pytest.mark.parametrize("args", [
    ["stats"], ["export", "--format", "conll"], ["validate"], ["release", "--no-git"], ["show", "doc-x"], ["build"],
    ["publish", "--repo-id", "me/x", "--dry-run"], ["agreement"], ["adjudicate", "--adjudicator", "me"], ["annotate"],
    ["train", "--out", "models/x"], ["evaluate"], ["doccano", "push"], ["doccano", "pull"],
])
def test_cli_every_command_refuses_a_missing_corpus(tmp_path, args):
    missing = tmp_path / "nowhere"
    res = CliRunner().invoke(main, [*args, "--corpus", str(missing)])
    assert res.exit_code == 1, res.output
    assert f"error: {missing}: no corpus here" in " ".join(res.output.split())
    assert not missing.exists()  # nothing written (export used to write an empty file)


def test_cli_usage_errors_exit_2(seed_corpus, tmp_path):
    res = CliRunner().invoke(main, ["build", "--ratios", "0.5,x", "--corpus", str(seed_corpus.path),
                                    "--out", str(tmp_path / "hf")])
    assert res.exit_code == 2, res.output
    assert "Error: Invalid value for --ratios: split ratios '0.5,x' are not numbers" in res.output
    res = CliRunner().invoke(main, ["ingest", str(tmp_path / "nonexistent"), "--corpus", str(tmp_path / "c")])
    assert res.exit_code == 2 and "does not exist" in res.output


def test_cli_os_error_is_one_line(seed_corpus, tmp_path):
    (tmp_path / "file").write_text("x", encoding="utf-8")
    doc = next(seed_corpus.documents())
    target = tmp_path / "file" / "page.html"  # a path under a regular file: the OS refuses
    res = CliRunner().invoke(main, ["show", doc.id, "--corpus", str(seed_corpus.path), "--html", str(target)])
    assert res.exit_code == 1
    assert res.output.strip() == f"error: {target}: Not a directory"
    assert res.exception is None or isinstance(res.exception, SystemExit)


def _git(cwd, *args):
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@x", *args], cwd=cwd, check=True,
                          capture_output=True, text=True).stdout


def _quick_start() -> list[list[str]]:
    """The commands of the quick start printed by `spanbank --help`."""
    text = CliRunner().invoke(main, ["--help"]).output
    block = text.split("Quick start:")[1].split("\n\n")[0]
    return [re.split(r"\s+#", line.strip())[0].split()[1:] for line in block.strip().splitlines()]


def test_cli_quick_start_works_on_a_released_corpus_and_diff_finds_releases_without_tags(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    monkeypatch.chdir(repo)
    (repo / "more").mkdir()
    (repo / "more" / "extra.jsonl").write_text('{"text": "Another article: officials in Baghdad said so."}\n',
                                              encoding="utf-8")
    steps = _quick_start()
    assert [s[0] for s in steps] == ["ingest", "validate", "release"]
    for articles in (str(SEEDS), "more"):  # the second round runs on a released corpus
        for step in steps:
            args = [articles if a == "seeds/" else a for a in step]
            res = CliRunner().invoke(main, args)
            assert res.exit_code == 0, (args, res.output)
    manifest = json.loads((repo / "corpus" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["version"] != "1.0.0" and open_corpus(repo / "corpus").count() == 2
    clone = tmp_path / "clone"
    _git(tmp_path, "clone", "-q", "--no-tags", str(repo), str(clone))
    assert _git(clone, "tag") == ""
    monkeypatch.chdir(clone)
    res = CliRunner().invoke(main, ["diff", "corpus-v1.0.0", "corpus", "--json"])
    assert res.exit_code == 0, res.output
    assert len(json.loads(res.stdout)["documents"]["added"]) == 1
    res = CliRunner().invoke(main, ["diff", "corpus-v9.9.9", "corpus"])
    assert res.exit_code == 1 and "'corpus-v9.9.9' is neither a corpus folder nor a git revision" in res.output


def test_cli_command_modules_are_named_after_their_commands():
    """One module per command (group): `spanbank X` lives in spanbank/cli/X.py (import: imports.py)."""
    for name, command in main.commands.items():
        module = command.callback.__module__ if command.callback else type(command).__module__
        expected = {"import": "imports"}.get(name, name)
        assert module == f"spanbank.cli.{expected}", (name, module)


def test_cli_format_choices_come_from_the_registry():
    from spanbank import formats

    import_fmt = next(p for p in main.commands["import"].params if p.name == "fmt")
    export_fmt = next(p for p in main.commands["export"].params if p.name == "fmt")
    assert list(import_fmt.type.choices) == sorted([*formats.IMPORT_FORMATS, "hf"]) == ["brat", "conll", "conllu", "hf"]
    assert list(export_fmt.type.choices) == list(formats.EXPORT_FORMATS) == ["conll", "brat", "spacy", "doccano"]
