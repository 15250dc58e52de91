"""Validation: every invariant of a corpus, every problem, each with file:line and the offending value.

Works on the raw records (not on model objects) so that a broken corpus can still be read to the
end and every problem reported; streams both files, so memory stays flat.  The per-document rules
live in :mod:`.checks` (an import applies the same ones); this module reads the corpus files, their
order and the release manifest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

from .checks import RecordChecker, refusal
from .errors import CorpusError, Problem
from .model import LabelSchema
from .store import JOURNAL, MANIFEST_FIX, Corpus, merge_join, sha256_file
from . import jsonl


def validate(corpus: Corpus, schema: LabelSchema, progress: Callable[[int], None] | None = None,
             unreleased_ok: bool = False) -> list[Problem]:
    """All problems of ``corpus`` against ``schema`` (an empty list means valid).

    ``unreleased_ok`` skips the comparison of the files with the last release manifest (a corpus
    being edited differs from it); a manifest that cannot be read is a problem either way.
    """
    problems: list[Problem] = []
    if not corpus.exists():
        return [Problem(str(corpus.documents_path), None, "corpus has no documents file (run `spanbank ingest` first)")]
    checker = RecordChecker(str(corpus.documents_path), str(corpus.annotations_path), schema, problems)
    for doc, group in _groups(corpus, problems):
        checker.document(doc, group)
        if progress:
            progress(1)
    problems.extend(manifest_problems(corpus, schema, hashes=not unreleased_ok))
    if (corpus.path / JOURNAL).exists():
        problems.append(Problem(str(corpus.path / JOURNAL), None, "a write was killed while it renamed its files into "
                                "place: the next writing command finishes it (e.g. `spanbank release`)"))
    return problems


def require_valid(corpus: Corpus, schema: LabelSchema, progress: Callable[[int], None] | None = None,
                  unreleased_ok: bool = True, what: str | None = None) -> None:
    """The gate of every command that writes a dataset or a release: :func:`validate`, or CorpusError listing file:line.

    ``unreleased_ok``: a corpus that differs from its last release passes (a build of work in
    progress; publish checks the release separately); ``what`` starts the refusal's message.
    """
    problems = validate(corpus, schema, progress, unreleased_ok=unreleased_ok)
    if problems:
        raise refusal(problems, what or f"{corpus.path} does not validate",
                      "fix them (`spanbank validate` lists every one); nothing was written")


def _lines(path: Path, problems: list[Problem]) -> Iterator[tuple[int, dict[str, Any]]]:
    return jsonl.read(path, lambda line, message: problems.append(Problem(str(path), line, message)))


def _groups(corpus: Corpus, problems: list[Problem]):
    """Yield ((line, doc record), [(line, annotation record)]) merging the two sorted files, reporting disorder."""
    dpath, apath = str(corpus.documents_path), str(corpus.annotations_path)

    def documents() -> Iterator[tuple[int, dict[str, Any]]]:
        last_doc = ""
        for line, rec in _lines(corpus.documents_path, problems):
            doc_id = rec.get("id")
            if not isinstance(doc_id, str):
                problems.append(Problem(dpath, line, f"document id {doc_id!r} is not a string"))
                continue
            if doc_id <= last_doc:
                what = "duplicate" if doc_id == last_doc else "out of order"
                problems.append(Problem(dpath, line, f"document id {doc_id!r} is {what} (ids must be unique and sorted)"))
            last_doc = max(last_doc, doc_id)
            yield line, rec

    def orphan(line: int, rec: dict[str, Any]) -> None:
        problems.append(Problem(apath, line, f"annotation for unknown document {rec.get('doc')!r} "
                                             "(or annotations out of order)"))

    return merge_join(documents(), _lines(corpus.annotations_path, problems), orphan)


def manifest_problems(corpus: Corpus, schema: LabelSchema, hashes: bool = True) -> list[Problem]:
    """A manifest that cannot be read; with ``hashes``, its file and schema hashes against what is on disk now.

    (Nothing to check before a first release.)
    """
    try:
        manifest = corpus.read_manifest()
    except CorpusError as exc:
        return [Problem(exc.path or str(corpus.manifest_path), exc.line, f"{exc.message}; {exc.hint}", exc.offset)]
    if manifest is None:
        return []
    out, mpath = [], str(corpus.manifest_path)
    edit = corpus.manifest_edit(manifest)
    if edit:
        return [Problem(mpath, None, f"{edit}; {MANIFEST_FIX}")]
    if not hashes:
        return []
    for name, digest in (manifest.get("files") or {}).items():
        path = corpus.path / name
        actual = sha256_file(path) if path.exists() else "missing"
        if actual != digest:
            out.append(Problem(mpath, None, f"{name} has sha256 {actual[:12]}..., the manifest of "
                                            f"{manifest.get('version')} says {digest[:12]}... (run `spanbank release`)"))
    recorded = (manifest.get("schema") or {}).get("sha256")
    if recorded and recorded != schema.sha256:
        out.append(Problem(mpath, None, f"schema hash {schema.sha256[:12]}... differs from the released "
                                        f"{recorded[:12]}... (release again after a schema change)"))
    return out


