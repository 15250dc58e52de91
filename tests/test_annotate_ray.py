"""``spanbank annotate --engine ray`` on a real local Ray instance (2 CPUs, one session for the module),
checked against the local engine byte for byte."""

from __future__ import annotations

import os
import random
import shutil
import signal
import sys
import threading
from pathlib import Path

import orjson
import psutil
import pytest
from click.testing import CliRunner

from spanbank import ingest
from spanbank.annotate import AnnotateReport, annotate
from spanbank.annotate.ray_engine import annotate_corpus, import_ray
from spanbank.cli import main
from spanbank.model import SILVER, AnnotationSet, Provenance
from spanbank.schema import load_schema
from spanbank.store import open_corpus

SCHEMA = load_schema()  # annotate takes the schema from its caller

NOW = "2024-01-01T00:00:00Z"
N_GENERATED = 240


@pytest.fixture(scope="module")
def ray_session():
    ray = import_ray()
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def generated_articles(n: int, seed: int = 13):
    """``n`` news-like articles recombining the seed article's sentences (deterministic)."""
    from conftest import SEEDS

    (seed_doc,) = ingest.segment_articles(ingest.read_articles(ingest.expand_paths([SEEDS])))
    sentences = [seed_doc.text[s:e] for s, e in seed_doc.sentences]
    rng = random.Random(seed)
    for i in range(n):
        picked = rng.choices(sentences, k=rng.randint(4, 10))
        yield ingest.Article(text=f"Report {i}.\n\n" + " ".join(picked), origin=ingest.Origin(f"gen/{i}", ""))


def files(corpus) -> tuple[bytes, bytes]:
    return corpus.documents_path.read_bytes(), corpus.annotations_path.read_bytes()


@pytest.fixture(scope="module")
def big_corpus(tmp_path_factory):
    """The seed plus generated documents; one document carries a human set (its layer must be skipped)."""
    from conftest import SEEDS

    corpus = open_corpus(tmp_path_factory.mktemp("ray") / "corpus")
    docs = list(ingest.segment_articles(ingest.read_articles(ingest.expand_paths([SEEDS])))) + \
        list(ingest.segment_articles(generated_articles(N_GENERATED)))
    first = docs[0]
    start = first.text.index("Baghdad")
    prov = Provenance("alice", "gold", "2026-01-02T00:00:00Z", "human")
    docs[0] = first.with_set(AnnotationSet("annotator/alice", (first.make_span("a1", start, start + 7, "GPE", "entities", prov),)))
    with corpus.lock():
        corpus.write(docs)
    return corpus


def copy_of(corpus, dest: Path):
    shutil.copytree(corpus.path, dest)
    return open_corpus(dest)


@pytest.fixture(scope="module")
def local_result(big_corpus, tmp_path_factory):
    corpus = copy_of(big_corpus, tmp_path_factory.mktemp("local") / "corpus")
    report = AnnotateReport()
    with corpus.lock():
        corpus.write(annotate(corpus.documents(), now=NOW, processes=1, report=report, schema=SCHEMA))
    return files(corpus), report.as_dict()


def test_annotate_corpus_ray_byte_identical_to_local(ray_session, big_corpus, local_result, tmp_path):
    corpus = copy_of(big_corpus, tmp_path / "corpus")
    report = AnnotateReport()
    with corpus.lock():
        n = corpus.write(annotate_corpus(corpus, now=NOW, batch_size=16, workers=2, report=report, schema=SCHEMA))
    assert n == N_GENERATED + 1
    assert files(corpus) == local_result[0]
    assert report.as_dict() == local_result[1]
    assert report.skipped_human["entities"] == 1  # the human set kept its layer to itself
    (doc,) = [d for d in corpus.documents() if "annotator/alice" in d.annotations]
    assert [s.text for s in doc.annotation_set("annotator/alice").spans] == ["Baghdad"]


def test_annotate_ray_actor_killed_mid_run_is_retried(ray_session, big_corpus, local_result, tmp_path):
    corpus = copy_of(big_corpus, tmp_path / "corpus")
    first_result, killed = threading.Event(), {}
    done = [0]

    def advance(n: int = 1) -> None:
        done[0] += n
        first_result.set()

    def kill_one_actor() -> None:
        first_result.wait(600)
        for proc in psutil.Process().children(recursive=True):  # only this test's own Ray processes
            try:
                if "AnnotateBlocks" in " ".join(proc.cmdline()):
                    killed.update(pid=proc.pid, at=done[0])
                    os.kill(proc.pid, signal.SIGKILL)
                    return
            except psutil.Error:
                continue

    killer = threading.Thread(target=kill_one_actor)
    killer.start()
    with corpus.lock():
        n = corpus.write(annotate_corpus(corpus, now=NOW, batch_size=8, workers=2, progress=advance, schema=SCHEMA))
    killer.join()
    assert killed and killed["at"] < N_GENERATED + 1, "no actor was killed while the run was going on"
    assert not psutil.pid_exists(killed["pid"]) or psutil.Process(killed["pid"]).status() == psutil.STATUS_ZOMBIE
    assert n == N_GENERATED + 1 and done[0] == n  # every document once (a duplicate id would raise in write)
    assert files(corpus) == local_result[0]


def test_cli_annotate_engine_ray(ray_session, seed_corpus, monkeypatch):
    monkeypatch.chdir(seed_corpus.path.parent)  # a relative --corpus: the actors run elsewhere
    result = CliRunner().invoke(main, ["annotate", "--corpus", seed_corpus.path.name, "--engine", "ray",
                                       "--workers", "2", "--batch-size", "4"])
    assert result.exit_code == 0, result.output
    assert ("1 documents: 1 annotated into 'silver' with spanbank.attribution.v2, spanbank.entities.v2, "
            "spanbank.events.v2, 0 skipped" in result.stderr)
    assert "entities: 48 spans added" in result.stdout
    silver = next(seed_corpus.documents()).annotation_set(SILVER)
    assert len([s for s in silver.spans if s.layer == "entities"]) == 48 and silver.events and silver.attributions


def test_cli_annotate_engine_ray_failed_run_leaves_corpus(ray_session, big_corpus, tmp_path):
    corpus = copy_of(big_corpus, tmp_path / "corpus")
    doc_ids = list(corpus.ids())
    bad = b'{"doc":"%s","set":"annotator/zed","kind":"blob","id":"x"}\n' % doc_ids[150].encode()
    lines = corpus.annotations_path.read_bytes().splitlines(keepends=True) + [bad]
    lines.sort(key=lambda line: doc_ids.index(orjson.loads(line)["doc"]))  # a valid line, in its place
    corpus.annotations_path.write_bytes(b"".join(lines))
    before = files(corpus)
    result = CliRunner().invoke(main, ["annotate", "--corpus", str(corpus.path), "--engine", "ray", "--batch-size", "16"])
    assert result.exit_code == 1
    assert f"document {doc_ids[150]!r} cannot be read: 'blob'" in result.stderr
    assert files(corpus) == before
    assert not [p.name for p in corpus.path.iterdir() if p.name.endswith(".tmp") or p.name.startswith(".spill")]


def test_trained_pre_annotator_same_under_both_engines(ray_session, seed_corpus, tmp_path):
    from test_train import make_corpus

    from spanbank.train import train

    folder = tmp_path / "model"
    train(make_corpus(tmp_path / "train", n_docs=8), ["entities"], folder, schema=SCHEMA, epochs=1, force=True)
    local = copy_of(seed_corpus, tmp_path / "local")
    with local.lock():
        local.write(annotate(local.documents(), now=NOW, pre_annotator=str(folder), schema=SCHEMA))
    with seed_corpus.lock():
        seed_corpus.write(annotate_corpus(seed_corpus, now=NOW, pre_annotator=str(folder), workers=1, schema=SCHEMA))
    assert files(seed_corpus) == files(local)
    agents = {s.provenance.agent for s in next(seed_corpus.documents()).annotation_set(SILVER).spans}
    assert any(a.startswith("spanbank.trained.entities@") for a in agents)


def test_cli_engine_ray_without_ray_says_how_to_install(seed_corpus, monkeypatch):
    before = files(seed_corpus)
    for name in [m for m in sys.modules if m == "ray" or m.startswith("ray.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "ray", None)  # what an environment without the extra sees: ImportError
    result = CliRunner().invoke(main, ["annotate", "--corpus", str(seed_corpus.path), "--engine", "ray"])
    assert result.exit_code == 1
    assert "--engine ray needs Ray, which is not installed" in result.stderr
    assert "pip install 'spanbank[ray]'" in result.stderr
    assert files(seed_corpus) == before


def test_cli_workers_with_local_engine_is_a_usage_error(seed_corpus):
    result = CliRunner().invoke(main, ["annotate", "--corpus", str(seed_corpus.path), "--workers", "2"])
    assert result.exit_code == 2 and "--address and --workers are for --engine ray" in result.stderr
