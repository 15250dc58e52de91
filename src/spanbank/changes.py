"""What a corpus holds and what changed between two versions of it: counts per set, layer and
label; a streaming diff of two id-sorted document streams; a corpus at a folder or a git revision.

``spanbank diff`` and ``spanbank stats`` show these; :mod:`spanbank.release` builds its version
bump, changelog and manifest counts on them.
"""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import orjson

from .errors import CorpusError
from .model import Document
from .store import ANNOTATIONS, DOCUMENTS, MANIFEST, Corpus, open_corpus

TRACKED = (DOCUMENTS, ANNOTATIONS)


# --- counts ---------------------------------------------------------------------------------------


def annotation_keys(doc: Document) -> Iterator[tuple[str, str, str, str]]:
    """(set, layer, label, identity) for every span, event and attribution of a document."""
    for name, aset in doc.annotations.items():
        for s in aset.spans:
            yield name, s.layer, s.label, f"span {s.start}:{s.end} {s.label}"
        spans = {s.id: s for s in aset.spans}
        for e in aset.events:
            trig = spans.get(e.trigger)
            args = sorted(f"{a.role}={_at(spans, a.span)}" for a in e.arguments)
            yield name, "event structures", e.type, f"event {_at(spans, e.trigger) if trig else e.trigger} {' '.join(args)}"
        for a in aset.attributions:
            yield name, "attribution structures", "attribution", (f"attribution cue={_at(spans, a.cue)} src={_at(spans, a.source)} "
                                                       f"content={_at(spans, a.content)}")


def _at(spans: dict, span_id: str | None) -> str:
    s = spans.get(span_id) if span_id else None
    return f"{s.start}:{s.end}" if s else str(span_id)


def corpus_counts(docs: Iterable[Document], progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Documents, and annotations per set / layer / label, plus annotators and pre-annotators seen."""
    n_docs, per = 0, Counter()
    annotators, machines = set(), {}
    for doc in docs:
        n_docs += 1
        for set_name, layer, label, _ in annotation_keys(doc):
            per[(set_name, layer, label)] += 1
        for aset in doc.annotations.values():
            for s in aset.spans:
                if s.provenance.kind == "machine":
                    machines[s.provenance.agent] = s.provenance.detail
                else:
                    annotators.add(s.provenance.agent)
        if progress:
            progress(1)
    by_set: dict[str, dict[str, dict[str, int]]] = {}
    for (set_name, layer, label), n in sorted(per.items()):
        by_set.setdefault(set_name, {}).setdefault(layer, {})[label] = n
    return {"documents": n_docs, "annotations": by_set, "annotators": sorted(annotators),
            "pre_annotators": dict(sorted(machines.items()))}


# --- diff -----------------------------------------------------------------------------------------


@dataclass
class CorpusDiff:
    added_documents: list[str] = field(default_factory=list)
    removed_documents: list[str] = field(default_factory=list)
    changed_text: list[str] = field(default_factory=list)
    # (set, layer, label) -> [added, removed]
    annotations: dict[tuple[str, str, str], list[int]] = field(default_factory=dict)

    def is_empty(self) -> bool:
        return not (self.added_documents or self.removed_documents or self.changed_text
                    or any(a or r for a, r in self.annotations.values()))

    def count(self, key: tuple[str, str, str], index: int, n: int = 1) -> None:
        self.annotations.setdefault(key, [0, 0])[index] += n

    def as_dict(self) -> dict[str, Any]:
        return {"documents": {"added": self.added_documents, "removed": self.removed_documents,
                              "text_changed": self.changed_text},
                "annotations": [{"set": s, "layer": la, "label": lb, "added": a, "removed": r}
                                for (s, la, lb), (a, r) in sorted(self.annotations.items()) if a or r]}

    def summary_lines(self) -> list[str]:
        lines = []
        if self.added_documents:
            lines.append(f"{len(self.added_documents)} document(s) added")
        if self.removed_documents:
            lines.append(f"{len(self.removed_documents)} document(s) removed")
        if self.changed_text:
            lines.append(f"{len(self.changed_text)} document text(s) changed")
        for (s, layer, label), (a, r) in sorted(self.annotations.items()):
            if a or r:
                lines.append(f"{s} / {layer} / {label}: +{a} -{r}")
        return lines


def diff(old: Iterable[Document], new: Iterable[Document]) -> CorpusDiff:
    """Documents and annotations added / removed between two id-sorted document streams (a merge join)."""
    result = CorpusDiff()
    olds, news = iter(old), iter(new)
    o, n = next(olds, None), next(news, None)
    while o is not None or n is not None:
        if n is None or (o is not None and o.id < n.id):
            result.removed_documents.append(o.id)
            _count(result, Counter(annotation_keys(o)), 1)
            o = next(olds, None)
        elif o is None or n.id < o.id:
            result.added_documents.append(n.id)
            _count(result, Counter(annotation_keys(n)), 0)
            n = next(news, None)
        else:
            if o.text != n.text:
                result.changed_text.append(n.id)
            ko, kn = Counter(annotation_keys(o)), Counter(annotation_keys(n))
            _count(result, kn - ko, 0)
            _count(result, ko - kn, 1)
            o, n = next(olds, None), next(news, None)
    return result


def _count(result: CorpusDiff, keys: Counter, index: int) -> None:
    for (s, layer, label, _), n in keys.items():
        result.count((s, layer, label), index, n)


@contextlib.contextmanager
def corpus_at(ref: str, cwd: Path | None = None) -> Iterator[Corpus]:
    """A corpus folder, or ``REV:PATH`` / a git revision (corpus/ at that revision, extracted to a temp dir)."""
    path = Path(ref)
    if path.is_dir():
        yield open_corpus(path)
        return
    rev, _, sub = ref.partition(":")
    sub = sub or "corpus"
    rev = _release_revision(rev, sub, cwd)
    with tempfile.TemporaryDirectory(prefix="spanbank-rev-") as tmp:
        for name in TRACKED:
            try:
                data = subprocess.run(["git", "show", f"{rev}:{sub}/{name}"], capture_output=True, check=True,
                                      cwd=cwd).stdout
            except (subprocess.CalledProcessError, FileNotFoundError) as exc:
                err = getattr(exc, "stderr", b"") or b""
                raise CorpusError(f"{ref!r} is neither a corpus folder nor a git revision with {sub}/{name}: "
                                  f"{err.decode(errors='replace').strip()}",
                                  hint="give a folder, a tag such as corpus-v1.0.0, or REV:PATH") from None
            (Path(tmp) / name).write_bytes(data)
        yield open_corpus(tmp)


def _release_revision(rev: str, sub: str, cwd: Path | None) -> str:
    """``rev``; for a release tag ``corpus-vX.Y.Z`` git does not know (a clone without tags), the commit
    whose ``<sub>/manifest.json`` says version X.Y.Z (the release commit, found in git history)."""
    if not rev.startswith("corpus-v") or git(cwd, "rev-parse", "-q", "--verify", f"{rev}^{{commit}}") is not None:
        return rev
    version = rev[len("corpus-v"):]
    for sha in (git(cwd, "log", "--format=%H", "--", f"{sub}/{MANIFEST}") or "").split():
        text = git(cwd, "show", f"{sha}:{sub}/{MANIFEST}")
        try:
            found = orjson.loads(text or "null")
        except orjson.JSONDecodeError:
            continue
        if isinstance(found, dict) and found.get("version") == version:
            return sha
    return rev


# --- git ------------------------------------------------------------------------------------------


def git(cwd: Path | None, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    except (subprocess.CalledProcessError, FileNotFoundError):
        return None
    return out.stdout.strip()


def git_root(path: Path) -> Path | None:
    root = git(path.resolve(), "rev-parse", "--show-toplevel")
    return Path(root) if root else None
