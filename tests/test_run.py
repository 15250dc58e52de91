"""scripts/run, the README's main job, end to end on the seed article with a real Doccano server."""

import json
import os
import shutil
import subprocess

import pytest

from conftest import ROOT


def _project_copy(dest):
    """The project as committed (a fresh clone), with the working tree's versions of tracked files."""
    subprocess.run(["git", "clone", "-q", str(ROOT), str(dest)], check=True)
    for rel in ("src", "scripts", "schema", "seeds", "pyproject.toml", "uv.lock"):
        src = ROOT / rel
        if src.is_dir():
            shutil.copytree(src, dest / rel, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dest / rel)
    return dest


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    dest = _project_copy(tmp_path_factory.mktemp("run") / "project")
    for name in ("documents.jsonl", "annotations.jsonl", "manifest.json", "CHANGELOG.md"):
        (dest / "corpus" / name).unlink()  # start from an empty corpus: the whole job runs
    return dest


def run_main_job(project):
    env = {**os.environ, "SPANBANK_DOCCANO_TOOLS": str(ROOT / ".spanbank" / "doccano"),
           "SPANBANK_STATE": str(project / ".spanbank"), "UV_PROJECT_ENVIRONMENT": str(ROOT / ".venv")}
    env.pop("DOCCANO_URL", None)
    return subprocess.run(["scripts/run", "--no-serve", "--no-git"], cwd=project, env=env, capture_output=True,
                          text=True, timeout=900)


def test_scripts_run_end_to_end_then_idempotent(project):
    first = run_main_job(project)
    assert first.returncode == 0, first.stderr[-3000:]
    out = first.stderr
    assert "1 document(s) added to corpus" in out
    assert "uploaded 1 document(s)" in out, out
    assert "released 1.0.0" in out
    assert "load_dataset check: documents train=1" in out
    assert 'load_dataset("dist/hf")' in out and "Doccano: http://127.0.0.1:" in out
    assert "local Doccano server stopped" in out
    manifest = json.loads((project / "corpus" / "manifest.json").read_text())
    assert manifest["version"] == "1.0.0" and set(manifest["pre_annotators"]) == {
        "spanbank.entities.v2", "spanbank.events.v2", "spanbank.attribution.v2"}

    from datasets import load_dataset

    from spanbank.schema import load_schema

    docs = load_dataset(str(project / "dist" / "hf"), "documents", split="train")
    schema = load_schema()
    assert docs.features["entities"].feature["label"].names == schema.entity_names()
    row = docs[0]
    assert row["text"].startswith("A day after") and row["date"] == "2021-11-09"
    assert all(row["text"][e["start"]:e["end"]] == e["text"] for e in row["entities"])
    ner = load_dataset(str(project / "dist" / "hf"), "ner", split="train")
    assert ner.features["ner_tags"].feature.names[0] == "O"

    again = run_main_job(project)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "0 document(s) added" in again.stderr
    assert "uploaded 0 document(s)" in again.stderr and "1 already on the server" in again.stderr
    assert "nothing to release: corpus is at 1.0.0" in again.stderr
