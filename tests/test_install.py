"""The wheel works on its own: built, installed into a fresh virtual environment with the locked
dependencies, and run (ingest -> annotate -> validate -> build) in an empty folder outside the
repository, where only the package data can supply the schema, the lexicons and NOTICE.

Everything comes from uv's cache or PyPI (the same locked versions as the development
environment); nothing is downloaded at run time.  About a minute on an idle machine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from spanbank import jsonl
from spanbank.schema import DEFAULT_SCHEMA, load_schema

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"


def _run(args: list, cwd: Path, env: dict, timeout: int = 600) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(map(str, args))} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def _uv(uv: str, args: list, cwd: Path, env: dict) -> None:
    """``uv ARGS`` from the cache alone (``--offline``) when it holds everything, else from PyPI."""
    proc = subprocess.run([uv, *map(str, args), "--offline"], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)
    if proc.returncode != 0:
        _run([uv, *args], cwd, env)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(venv bin folder, environment, the wheel): spanbank's wheel in a fresh virtual environment."""
    uv = shutil.which("uv")
    assert uv, "uv must be on PATH (scripts/test installs it)"
    tmp = tmp_path_factory.mktemp("install")
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "SPANBANK_SCHEMA", "UV_PROJECT_ENVIRONMENT")}
    env.update({"HF_HOME": str(tmp / "hf-home"), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
                "HF_HUB_DISABLE_TELEMETRY": "1", "HF_DATASETS_DISABLE_PROGRESS_BARS": "1"})
    _uv(uv, ["build", "--wheel", "--quiet", "--out-dir", tmp / "dist"], ROOT, env)
    wheels = list((tmp / "dist").glob("spanbank-*.whl"))
    assert len(wheels) == 1, wheels
    _run([uv, "export", "--frozen", "--no-dev", "--no-emit-project", "--no-header", "--quiet",
          "--output-file", tmp / "requirements.txt"], ROOT, env)
    venv = tmp / "venv"
    _run([uv, "venv", "--quiet", "--python", sys.executable, venv], tmp, env)
    python = venv / "bin" / "python"
    _uv(uv, ["pip", "install", "--quiet", "--python", python, "-r", tmp / "requirements.txt"], tmp, env)
    _uv(uv, ["pip", "install", "--quiet", "--python", python, "--no-deps", wheels[0]], tmp, env)
    return venv / "bin", env, wheels[0]


def test_wheel_carries_the_data_files(installed):
    _bin, _env, wheel = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {f"spanbank/_data/{p.relative_to(ROOT).as_posix()}"
               for p in [ROOT / "NOTICE", *sorted((ROOT / "schema").rglob("*.yaml"))]}
    assert shipped <= names, shipped - names
    assert "spanbank/_data/schema/lexicons/triggers_v2.yaml" in shipped
    assert "spanbank/_data/schema/label-maps/gum.yaml" in shipped


def test_installed_wheel_runs_the_pipeline_outside_the_repository(installed, tmp_path):
    bin_dir, env, _wheel = installed
    work = tmp_path / "empty"
    work.mkdir()
    spanbank = bin_dir / "spanbank"

    where = _run([bin_dir / "python", "-c", "import spanbank, spanbank.resources as r; "
                  "print(spanbank.__file__); print(r.data_root())"], work, env).stdout.split()
    assert "site-packages" in where[0] and not where[0].startswith(str(ROOT)), where
    assert where[1].endswith("site-packages/spanbank/_data"), where

    out = _run([spanbank, "ingest", SEEDS], work, env).stderr  # status lines go to stderr
    seeds = len(list(SEEDS.glob("*.txt")))
    assert f"{seeds} document(s) added" in out
    assert len(list(jsonl.read(work / "corpus" / "documents.jsonl", missing_ok=False))) == seeds

    _run([spanbank, "annotate"], work, env)
    dumped = [json.dumps(row, sort_keys=True) for _line, row in jsonl.read(work / "corpus" / "annotations.jsonl", missing_ok=False)]
    for layer in ("entities", "events", "attribution"):  # the lexicons were found: events and cues came out
        assert any(f"spanbank.{layer}.v2" in row for row in dumped), layer

    checked = _run([spanbank, "validate"], work, env)  # exit 0; each problem would be a stdout line
    assert checked.stdout == "" and "corpus: valid" in checked.stderr, checked

    _run([spanbank, "build", "--license", "cc-by-4.0"], work, env)
    hf = work / "dist" / "hf"
    card = (hf / "README.md").read_text(encoding="utf-8")
    front = yaml.safe_load(card.split("---\n")[1])
    assert [c["config_name"] for c in front["configs"]] == ["documents", "ner", "events", "attribution"]
    for config in ("documents", "events", "attribution"):  # ner is a view of the events files
        assert list((hf / "data" / config).glob("train-*.parquet")), config
    assert not (hf / "data" / "ner").exists()
    shipped = load_schema(DEFAULT_SCHEMA)
    assert front["spanbank_build"]["schema"] == {"name": shipped.name, "version": shipped.version, "sha256": shipped.sha256}
    assert (hf / "project" / "NOTICE").read_bytes() == (ROOT / "NOTICE").read_bytes()
    assert (hf / "project" / "schema.yaml").read_bytes() == DEFAULT_SCHEMA.read_bytes()

    loaded = _run([bin_dir / "python", "-c", "from datasets import load_dataset; "
                   "print(len(load_dataset('dist/hf', 'ner')['train']))"], work, env).stdout.split()
    assert int(loaded[-1]) >= 1


def test_installed_wheel_prefers_the_working_directory_schema(installed, tmp_path):
    bin_dir, env, _wheel = installed
    shipped = load_schema(DEFAULT_SCHEMA)
    out = _run([bin_dir / "spanbank", "schema", "check"], tmp_path, env).stdout
    assert out.startswith(f"{shipped.name} {shipped.version}:"), out
    (tmp_path / "schema").mkdir()
    text = DEFAULT_SCHEMA.read_text(encoding="utf-8").replace(f"version: {shipped.version}", "version: 9.9.9", 1)
    (tmp_path / "schema" / "spanbank.yaml").write_text(text, encoding="utf-8")
    out = _run([bin_dir / "spanbank", "schema", "check"], tmp_path, env).stdout
    assert out.startswith(f"{shipped.name} 9.9.9:"), out


def test_installed_wheel_finds_a_shipped_label_map_by_name(installed, tmp_path):
    bin_dir, env, _wheel = installed
    text = "Alice went to Baghdad."
    (tmp_path / "doc.txt").write_text(text, encoding="utf-8")
    (tmp_path / "doc.ann").write_text("T1\tperson 0 5\tAlice\nT2\tplace 14 21\tBaghdad\n", encoding="utf-8")
    _run([bin_dir / "spanbank", "import", "--format", "brat", "doc.ann", "--label-map", "gum"], tmp_path, env)
    rows = [row for _line, row in jsonl.read(tmp_path / "corpus" / "annotations.jsonl", missing_ok=False)]
    assert [(r["text"], r["label"]) for r in rows] == [("Alice", "PER"), ("Baghdad", "LOC")]
