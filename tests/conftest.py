"""Shared test set-up.  Hugging Face variables are read at import time, so they are set first."""

import os
import tempfile

os.environ.update({
    "HF_HOME": tempfile.mkdtemp(prefix="spanbank-hf-home-"), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1", "HF_DATASETS_DISABLE_PROGRESS_BARS": "1", "HF_TOKEN": "",
})
os.environ.pop("HF_DATASETS_CACHE", None)
os.environ.pop("HF_HUB_CACHE", None)

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"


@pytest.fixture(scope="module")
def schema():
    """The project's label schema (``schema/``), loaded once per test module."""
    from spanbank.schema import load_schema

    return load_schema()


@pytest.fixture
def seed_corpus(tmp_path):
    """A fresh corpus holding the ingested seed articles (no annotations)."""
    from spanbank import ingest
    from spanbank.store import open_corpus

    corpus = open_corpus(tmp_path / "corpus")
    report = ingest.IngestReport()
    with corpus.lock():
        corpus.write(ingest.new_documents([SEEDS], set(), report=report))
    return corpus


@pytest.fixture
def two_annotator_corpus(seed_corpus):
    """The seed corpus where alice marked Baghdad and Tehran, bob Baghdad and Erbil (GPE): exact F1 = 0.5."""
    from spanbank.model import AnnotationSet, Provenance

    doc = next(seed_corpus.documents())
    for name, phrases in (("alice", ["Baghdad", "Tehran"]), ("bob", ["Baghdad", "Erbil"])):
        prov = Provenance(name, "gold", "2026-01-02T00:00:00Z", "human")
        spans = tuple(doc.make_span(f"s{i}", doc.text.index(p), doc.text.index(p) + len(p), "GPE", "entities", prov)
                      for i, p in enumerate(phrases))
        doc = doc.with_set(AnnotationSet(f"annotator/{name}", spans))
    with seed_corpus.lock():
        seed_corpus.write([doc])
    return seed_corpus


from doccano_fixture import client, doccano_server  # noqa: E402,F401
