"""Helpers shared by the Doccano tests (tests/test_doccano_*.py): documents to push, fresh projects and corpora,
annotator accounts, a pull as the CLI runs it.  The fixtures (``doccano_server``, ``client``, ``schema``) are in
conftest.py."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

from click.testing import CliRunner

from spanbank.cli import main
from spanbank.doccano import merge
from spanbank.doccano import project as projects
from spanbank.doccano import pull as pulling
from spanbank.doccano import push as pushing
from spanbank.schema import load_schema
from spanbank.doccano.client import DoccanoClient
from spanbank.model import AnnotationSet, Argument, Attribution, Document, Event, Provenance, Span, document_id
from spanbank.store import open_corpus

MACHINE = Provenance("test.silver.v1", "silver", "2026-01-01T00:00:00Z", "machine")
EMOJI_TEXT = "😀 𝐀𝐁 Cafe\u0301 👩\u200d👩\u200d👧 ok: Bob attacked the castle.\n\nOfficials said Bob fled 🚗 to Paris."
PLAIN = "Alice met Bob in Paris on Monday.\n\nOfficials said nothing."
_names = itertools.count()


def new_project(client, schema, prefix="t"):
    name = f"{prefix}-{next(_names)}-{time.time_ns() % 10**8}"
    projects.ensure_project(client, schema, name)
    return projects.require_project(client, name)


def span(doc_text, sid, needle, label, layer, nth=0):
    start = -1
    for _ in range(nth + 1):
        start = doc_text.index(needle, start + 1)
    return Span(sid, start, start + len(needle), needle, label, layer, MACHINE)


def emoji_doc() -> Document:
    t = EMOJI_TEXT
    doc = Document(document_id(t), t)
    spans = (span(t, "x1", "Bob", "PER", "entities"), span(t, "x2", "attacked", "Conflict:Attack", "events"),
             span(t, "x3", "castle", "FAC", "entities"), span(t, "x4", "Paris", "GPE", "entities"),
             span(t, "x5", "Cafe\u0301", "ORG", "entities"), span(t, "x6", "said", "CUE", "attribution"),
             span(t, "x7", "Officials", "SOURCE", "attribution"), span(t, "x8", "Bob fled 🚗 to Paris", "CONTENT", "attribution"),
             span(t, "x9", "👩\u200d👩\u200d👧", "PER", "entities"))
    event = Event("e1", "x2", "Conflict:Attack", (Argument("Attacker", "x1"), Argument("Target", "x3")), MACHINE)
    return doc.with_set(AnnotationSet("silver", spans, (event,), (Attribution("a1", "x6", "x7", "x8", MACHINE),)))


def pull_now(client, project, corpus, schema, **options):
    """What `spanbank doccano pull` does: read over REST (no lock), then commit under the corpus lock."""
    return merge.commit(corpus, pulling.read(client, project, corpus, schema, **options))


def make_corpus(path: Path, docs) -> object:
    corpus = open_corpus(path)
    with corpus.lock():
        corpus.write(docs)
    return corpus


def pushed_emoji_doc(client, schema, doccano_server, tmp_path):
    """The emoji document in a fresh corpus, pushed to a new project: (doc, corpus, project, its example)."""
    doc = emoji_doc()
    corpus = make_corpus(tmp_path / "c", [doc])
    project = new_project(client, schema)
    pushing.push(client, project, corpus, state=doccano_server.state, schema=load_schema())
    return doc, corpus, project, next(client.examples(project["id"]))


def server_copies(client, project) -> dict[str, int]:
    counts: dict[str, int] = {}
    for ex in client.examples(project["id"]):
        sid = ex["meta"]["spanbank_id"]
        counts[sid] = counts.get(sid, 0) + 1
    return counts


def annotator(client, doccano_server, project, name) -> DoccanoClient:
    """A real annotator account (created through the REST API) that is a member of ``project``."""
    password = f"pw-{name}-{time.time_ns()}"
    user = client.create_user(name, password)
    client.add_member(project["id"], user["id"], "annotator")
    return DoccanoClient.login(doccano_server.url, name, password)


def generated_docs(n: int, tag: str) -> list[Document]:
    docs = []
    for i in range(n):
        text = f"Report {tag} {i}: 🚀 Alice met Bob in Köln.\n\nThey said nothing."
        d = Document(document_id(text), text)
        spans = (span(text, "a", "Alice", "PER", "entities"), span(text, "b", "Bob", "PER", "entities"),
                 span(text, "m", "met", "Contact:Meet", "events"))
        ev = Event("e", "m", "Contact:Meet", (Argument("Entity", "a"), Argument("Entity", "b")), MACHINE)
        docs.append(d.with_set(AnnotationSet("silver", spans, (ev,))))
    return docs


def plain_doc() -> Document:
    t = PLAIN
    return Document(document_id(t), t).with_set(
        AnnotationSet("silver", (span(t, "s1", "Alice", "PER", "entities"), span(t, "s2", "Paris", "GPE", "entities"))))


def brat_folder(folder: Path, text: str, needles: list[tuple[str, str]]) -> Path:
    """A brat .txt/.ann pair over ``text`` with one entity per (needle, label)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "a.txt").write_text(text, encoding="utf-8")
    lines = [f"T{i}\t{label} {text.index(n)} {text.index(n) + len(n)}\t{n}\n" for i, (n, label) in enumerate(needles, 1)]
    (folder / "a.ann").write_text("".join(lines), encoding="utf-8")
    return folder


def cli_import(corpus, folder: Path, *options: str):
    result = CliRunner().invoke(main, ["import", "--format", "brat", str(folder), "--corpus", str(corpus.path), *options])
    assert result.exit_code == 0 and "1 attached to existing documents" in result.output, result.output
    return result


def pushed_plain_doc(client, schema, doccano_server, tmp_path):
    doc = plain_doc()
    corpus = make_corpus(tmp_path / "c", [doc])
    project = new_project(client, schema)
    pushing.push(client, project, corpus, state=doccano_server.state, schema=schema)
    return doc, corpus, project, next(client.examples(project["id"]))
