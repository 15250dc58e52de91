"""Releases: semantic versions, the manifest, the changelog and git tags.

Version policy (``--bump auto``): *major* when a label of the previous release is removed or
renamed (label ids are append-only within a major version), *minor* when documents or labels are
added, *patch* for annotation corrections.  A release writes ``CHANGELOG.md`` and
``manifest.json`` (sha256 of every corpus file), records the version as the ``first_release`` of
every document that has none, and, inside a git work tree, commits the corpus
folder and tags it ``corpus-vX.Y.Z``.  What changed since the previous release is measured by
:mod:`spanbank.changes` (counts and the corpus diff, re-exported here for ``spanbank diff``/``stats``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import orjson

from . import __version__, jsonl
from .changes import TRACKED, CorpusDiff, corpus_at, corpus_counts, diff, git, git_root
from .errors import CorpusError
from .model import Document, LabelSchema
from .store import CHANGELOG, MANIFEST, MANIFEST_FIX, ROUNDS, SEAL, Corpus, manifest_seal, sha256_file
from .validate import require_valid

__all__ = ["BUMPS", "CorpusDiff", "ReleaseResult", "changelog_entry", "corpus_at", "corpus_counts", "diff",
           "git_commit_and_tag", "next_version", "read_manifest", "release", "schema_labels", "stamp_first_release",
           "unreleased_changes"]
BUMPS = ("major", "minor", "patch", "auto")
CHANGELOG_HEADER = "# Changelog\n\nEvery corpus release: version, date and what changed per set, layer and label.\n\n"


# --- release --------------------------------------------------------------------------------------


def read_manifest(corpus: Corpus) -> dict[str, Any] | None:
    return corpus.read_manifest()


def unreleased_changes(corpus: Corpus) -> list[str]:
    """Files whose content differs from the last release manifest (all of them before a first release)."""
    manifest = corpus.read_manifest()
    if manifest is None:
        return ["no release yet (run `spanbank release`)"]
    changed = []
    for name in TRACKED:
        path = corpus.path / name
        if (sha256_file(path) if path.exists() else None) != manifest.get("files", {}).get(name):
            changed.append(f"{name} changed since release {manifest.get('version')}")
    return changed


def schema_labels(schema: LabelSchema) -> list[str]:
    """Every label id-bearing name in published order: span labels per layer, then roles."""
    return [f"{layer}:{lab.name}" for layer, lab in schema.all_labels()] + [f"role:{r}" for r in schema.role_names()]


def next_version(previous: str | None, bump: str, changes: CorpusDiff, old_labels: list[str], new_labels: list[str],
                 schema_changed: bool = False) -> str | None:
    """The version a release gets, or None when there is nothing to release.

    ``schema_changed``: the schema's content differs from the released one; with the same labels in
    the same order (definitions, conventions, colours, roles' wording) that is a patch.
    """
    if previous is None:
        return "1.0.0"
    major, minor, patch = (int(x) for x in previous.split("."))
    if bump == "auto":
        old_ids, new_ids = _ids_per_layer(old_labels), _ids_per_layer(new_labels)
        if any(new_ids.get(layer, [])[:len(names)] != names for layer, names in old_ids.items()):
            bump = "major"
        elif changes.added_documents or len(new_labels) > len(old_labels):
            bump = "minor"
        elif not changes.is_empty() or schema_changed:
            bump = "patch"
        else:
            return None
    return {"major": f"{major + 1}.0.0", "minor": f"{major}.{minor + 1}.0", "patch": f"{major}.{minor}.{patch + 1}"}[bump]


def _ids_per_layer(labels: list[str]) -> dict[str, list[str]]:
    """``layer:name`` labels grouped per layer, in order: ids are counted within a layer (each is its own
    ClassLabel), so a label appended to one layer leaves every other layer's ids as they were."""
    out: dict[str, list[str]] = {}
    for label in labels:
        layer, _, name = label.partition(":")
        out.setdefault(layer, []).append(name)
    return out


@dataclass
class ReleaseResult:
    version: str | None
    previous: str | None
    changes: CorpusDiff
    manifest: dict[str, Any] | None = None
    git_tag: str | None = None
    changelog_entry: str = ""


def release(corpus: Corpus, schema: LabelSchema, bump: str = "auto", name: str | None = None,
            date: str | None = None, git: bool = True, progress: Callable[[int], None] | None = None,
            extra: dict[str, Any] | None = None) -> ReleaseResult:
    """Version the corpus: compare with the previous release, write CHANGELOG.md and manifest.json, tag git.

    ``extra`` adds keys to the manifest (e.g. ``agreement``: headline inter-annotator agreement).
    """
    if bump not in BUMPS:
        raise CorpusError(f"unknown bump {bump!r}", allowed=BUMPS)
    if not corpus.exists():
        raise CorpusError("nothing to release: the corpus has no documents", path=str(corpus.documents_path),
                          hint="run `spanbank ingest` first")
    with corpus.lock():
        require_valid(corpus, schema, what=f"not released: {corpus.path} does not validate")
        previous = corpus.read_manifest()
        _check_manifest(corpus, previous)
        prev_version = previous["version"] if previous else None
        changes = _changes_since(corpus, previous)
        new_labels = schema_labels(schema)
        old_schema = (previous or {}).get("schema") or {}
        schema_changed = bool(previous) and old_schema.get("sha256") != schema.sha256
        version = next_version(prev_version, bump, changes, previous.get("labels", []) if previous else [], new_labels,
                               schema_changed)
        if version is None:
            return ReleaseResult(None, prev_version, changes)
        date = date or dt.date.today().isoformat()
        counts = corpus_counts(corpus.documents(), progress)
        rounds = corpus.rounds()
        entry = changelog_entry(version, date, changes, counts, first=previous is None,
                                schema=(f"schema {old_schema.get('version')} -> {schema.version}"
                                        f" (sha256 {schema.sha256[:12]})") if schema_changed else None,
                                rounds=(len(rounds) - (previous or {}).get("doccano_rounds", 0), len(rounds)))
        changelog = CHANGELOG_HEADER + entry + _old_changelog(corpus)
        manifest = {
            "name": name or (previous or {}).get("name") or schema.name,
            "version": version, "date": date, "spanbank_version": __version__,
            "schema": {"name": schema.name, "version": schema.version, "sha256": schema.sha256},
            "labels": new_labels, "counts": counts["annotations"], "documents": counts["documents"],
            "annotators": counts["annotators"], "pre_annotators": counts["pre_annotators"],
            "doccano_rounds": len(rounds), "doccano_last_round": rounds[-1] if rounds else None,
            "changelog": [{"version": version, "date": date, "summary": changes.summary_lines() or ["initial release"]}]
            + (previous or {}).get("changelog", []),
        }
        manifest.update(extra or {})

        def texts(hashes: dict[str, str]) -> dict[str, str]:
            """The changelog and the manifest recording ``hashes``, the sha256 of the corpus files they commit with."""
            manifest["files"] = {**{n: hashes.get(n) or sha256_file(corpus.path / n) for n in (*TRACKED, ROUNDS)
                                    if n in hashes or (corpus.path / n).exists()},
                                 CHANGELOG: hashlib.sha256(changelog.encode("utf-8")).hexdigest()}
            manifest[SEAL] = manifest_seal(manifest)
            return {CHANGELOG: changelog,
                    MANIFEST: orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"}

        # one commit: a killed release leaves the documents (their first_release stamps), changelog and manifest as they were
        if not stamp_first_release(corpus, version, texts=((CHANGELOG, MANIFEST), texts)):
            corpus.write_texts(texts({}))
    tag = git_commit_and_tag(corpus.path, version) if git else None
    return ReleaseResult(version, prev_version, changes, manifest, tag, entry)


def stamp_first_release(corpus: Corpus, version: str,
                        texts: tuple[tuple[str, ...], Callable[[dict[str, str]], dict[str, str]]] | None = None) -> int:
    """Record ``version`` as the first release of every document that has none; returns how many were stamped.

    The Hugging Face build writes each release's new documents to shards of their own (ordered by this
    field), so the next release leaves the earlier shards' bytes as they were unless their documents changed.
    Documents released before spanbank recorded this get the version of the release that stamps them.
    ``texts`` are committed with the stamped documents (:meth:`~spanbank.store.Corpus.write`); nothing is
    written when no document needs a stamp.  Caller holds the corpus lock.
    """
    if all(rec.get("first_release") is not None for _, rec in jsonl.read(corpus.documents_path)):
        return 0  # (raw records: a stamped corpus is not read as model objects a second time)
    stamped = 0

    def stamp(docs: Iterable[Document]) -> Iterator[Document]:
        nonlocal stamped
        for doc in docs:
            if doc.first_release is None:
                stamped += 1
                doc = replace(doc, first_release=version)
            yield doc

    corpus.write(stamp(corpus.documents()), texts=texts)
    return stamped


def _check_manifest(corpus: Corpus, previous: dict[str, Any] | None) -> None:
    """Refuse a manifest edited by hand since its release: what changed is measured against it.

    An edited manifest is not an annotation change, and the release it records cannot be re-derived
    from it, so release stops and says how to restore it.  Seen through the seal every release
    writes, and, inside git, against the manifest committed with the release's tag.
    """
    if previous is None:
        return
    edit = corpus.manifest_edit(previous)
    tagged = _tagged_manifest(corpus, previous.get("version"))
    if edit is None and tagged is not None and tagged != previous:
        edit = (f"edited by hand after release {previous.get('version')}: it differs from the manifest committed "
                f"with the tag corpus-v{previous.get('version')}")
    if edit:
        raise CorpusError(f"{edit}; nothing was released", path=str(corpus.manifest_path), hint=MANIFEST_FIX)


def _tagged_manifest(corpus: Corpus, version: Any) -> dict[str, Any] | None:
    """The manifest committed with tag ``corpus-v<version>`` (None outside git, without the tag or when unreadable)."""
    root = git_root(corpus.path)
    if root is None or not version:
        return None
    rel = corpus.path.resolve().relative_to(root)
    text = git(root, "show", f"refs/tags/corpus-v{version}:{rel.as_posix()}/{MANIFEST}")
    try:
        return orjson.loads(text) if text else None
    except orjson.JSONDecodeError:
        return None


def _changes_since(corpus: Corpus, previous: dict[str, Any] | None) -> CorpusDiff:
    if previous is None:
        return diff([], corpus.documents())
    tag = f"corpus-v{previous['version']}"
    root = git_root(corpus.path)
    if root is not None and git(root, "rev-parse", "-q", "--verify", f"refs/tags/{tag}") is not None:
        rel = corpus.path.resolve().relative_to(root)
        with corpus_at(f"{tag}:{rel}", cwd=root) as old:
            recorded = previous.get("files", {})
            if all(sha256_file(old.path / n) == recorded.get(n) for n in TRACKED):  # the tag is this release
                return diff(old.documents(), corpus.documents())
    # no tagged copy of the previous release: count-level comparison
    result = CorpusDiff()
    current = corpus_counts(corpus.documents())
    n_added = current["documents"] - previous.get("documents", 0)
    result.added_documents = [f"+{n_added}"] if n_added > 0 else []
    result.removed_documents = [f"-{-n_added}"] if n_added < 0 else []
    old_counts = _flat(previous.get("counts", {}))
    for key, n in _flat(current["annotations"]).items():
        delta = n - old_counts.pop(key, 0)
        if delta:
            result.count(key, 0 if delta > 0 else 1, abs(delta))
    for key, n in old_counts.items():
        result.count(key, 1, n)
    if result.is_empty() and unreleased_changes(corpus):
        result.count(("*", "*", "annotation edits"), 0, 1)
    return result


def _flat(counts: dict) -> dict[tuple[str, str, str], int]:
    return {(s, la, lb): n for s, layers in counts.items() for la, labels in layers.items() for lb, n in labels.items()}


def changelog_entry(version: str, date: str, changes: CorpusDiff, counts: dict[str, Any], first: bool,
                    rounds: tuple[int, int] = (0, 0), schema: str | None = None) -> str:
    """The CHANGELOG.md section of a release; ``rounds``: (Doccano rounds since the previous release, in total);
    ``schema``: a line saying the label schema changed."""
    lines = [f"## {version} ({date})", ""]
    lines.append(f"- {counts['documents']} documents" + (" (initial release)" if first else ""))
    if schema:
        lines.append(f"- {schema}")
    lines += [f"- {line}" for line in changes.summary_lines()[:200]]
    if counts["annotators"]:
        lines.append(f"- annotators: {', '.join(counts['annotators'])}")
    if counts["pre_annotators"]:
        lines.append(f"- pre-annotators: {', '.join(counts['pre_annotators'])}")
    if rounds[0]:
        lines.append(f"- Doccano annotation rounds: {rounds[0]} (in total {rounds[1]})")
    return "\n".join(lines) + "\n\n"


def _old_changelog(corpus: Corpus) -> str:
    path = corpus.changelog_path
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    return text[len(CHANGELOG_HEADER):] if text.startswith(CHANGELOG_HEADER) else text


def git_commit_and_tag(path: Path, version: str) -> str | None:
    """Commit the corpus folder and tag it ``corpus-vX.Y.Z`` when it lives in a git work tree."""
    root = git_root(path)
    if root is None:
        return None
    tag = f"corpus-v{version}"
    ident = ["-c", "user.name=spanbank", "-c", "user.email=spanbank@localhost"] if not git(root, "config", "user.email") else []
    rel = str(path.resolve().relative_to(root))
    git(root, "add", "--", rel)
    if git(root, *ident, "commit", "-q", "-m", f"Release corpus {tag}", "--", rel) is None \
            and git(root, "diff", "--cached", "--quiet", "--", rel) is None:
        raise CorpusError(f"could not commit {rel} for {tag}", path=str(root), hint="commit the corpus by hand, then tag it")
    if git(root, *ident, "tag", "-a", tag, "-m", f"spanbank corpus {version}") is None:
        raise CorpusError(f"git tag {tag} already exists or cannot be created", path=str(root),
                          hint="delete the stale tag or bump the version")
    return tag
