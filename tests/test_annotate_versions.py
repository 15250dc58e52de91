"""Released pre-annotator names never change their output: v1 is pinned on the seed article.

``tests/fixtures/v1_seed_silver.jsonl`` was written from the v1 code before any v2 work began
(``uv run python tests/test_annotate_versions.py --write`` rewrites it; do that only for a new
version, never for a released one).
"""

from __future__ import annotations

import sys
from pathlib import Path

from spanbank import ingest, store
from spanbank.annotate.agents import run_agents
from spanbank.model import Document
from spanbank.schema import load_schema

NOW = "2024-01-01T00:00:00Z"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
V1 = ("spanbank.entities.v1", "spanbank.events.v1", "spanbank.attribution.v1")
PINNED = FIXTURES / "v1_seed_silver.jsonl"
SCHEMA = load_schema()  # run_agents takes the schema from its caller


def seed_docs() -> list[Document]:
    root = Path(__file__).resolve().parents[1] / "seeds"
    return list(ingest.segment_articles(ingest.read_articles(ingest.expand_paths([root]))))


def serialized(docs: list[Document]) -> bytes:
    return b"".join(store.dumps(r) for doc in docs for r in store.annotation_records(doc))


def test_v1_output_is_byte_identical_on_the_seed():
    got = serialized(list(run_agents(seed_docs(), V1, schema=SCHEMA, now=NOW)))
    assert got == PINNED.read_bytes()


def test_v1_pinned_file_covers_every_layer():
    text = PINNED.read_text(encoding="utf-8")
    for agent in V1:
        assert f'"agent":"{agent}"' in text


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    PINNED.write_bytes(serialized(list(run_agents(seed_docs(), V1, schema=SCHEMA, now=NOW))))
