"""Ingest: article files (seed format, plain text, JSONL) -> normalized, segmented documents.

Stored text = the article body with the ``date YYYY-MM-DD`` header removed, every U+FEFF (BOM)
removed wherever it stands (after leading whitespace, or where files were concatenated; as a
"zero width no-break space" it is deprecated in favour of U+2060), CRLF -> LF, Unicode NFC, outer
whitespace stripped.  The original file's sha256 and the normalization steps that changed
something are recorded in the document's origin.  A NUL (U+0000, a raw byte or a JSON ``\u0000``
escape) is refused with file:line:offset: it is not text, and tools downstream cannot store it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import orjson

from . import nlp
from .errors import InputError
from .model import Document, Origin, document_id
from .text import decode, find_files, normalize  # noqa: F401  (decode, normalize: part of ingest's API too)

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
TEXT_SUFFIXES = {".txt", ".text", ""}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
HEADER = re.compile(r"\A(\s*)date[ \t]+(\S+)[ \t]*")
DATE = re.compile(r"\A\d{4}-\d{2}-\d{2}\Z")
PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")
HEADLINE_MAX_WORDS = 14
NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")  # a \u0000 escape not preceded by an escaped backslash
FINAL_PUNCTUATION = tuple(".!?:;,\"'”’)…")


@dataclass(frozen=True)
class Article:
    """One article as read from a file, before segmentation."""

    text: str
    origin: Origin
    date: str | None = None
    title: str | None = None
    url: str | None = None
    source: str | None = None


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (path, existing id)
    skipped: list[str] = field(default_factory=list)  # error messages of skipped files
    ignored: list[str] = field(default_factory=list)  # files in named folders that are not articles, and why

    def as_dict(self) -> dict[str, Any]:
        return {"added": self.added, "duplicates": [{"path": p, "id": i} for p, i in self.duplicates],
                "skipped": self.skipped, "ignored": self.ignored}


def expand_paths(paths: Iterable[str | Path], suffixes: Iterable[str] = (*TEXT_SUFFIXES, *JSONL_SUFFIXES),
                 ignored: list[str] | None = None) -> list[Path]:
    """Article files named directly, plus every article file below named folders (see :func:`.text.find_files`)."""
    return find_files(paths, suffixes, ignored)


def read_file(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> Iterator[Article]:
    """Every article in one file, streamed; raises InputError naming the file, line and offset of a problem.

    A text file is one article and ``max_bytes`` limits the file; a JSONL file is read line by line
    (bounded memory) and ``max_bytes`` limits each record.
    """
    if path.suffix.lower() in JSONL_SUFFIXES:
        return _jsonl_articles(path, max_bytes)
    size = path.stat().st_size
    if size > max_bytes:
        raise InputError(f"file is {size} bytes, over the limit of {max_bytes}", path=str(path),
                         hint="raise --max-bytes or split the file")
    raw = path.read_bytes()
    if not raw.strip():
        raise InputError("file is empty", path=str(path), hint="remove it or give it text")
    check_binary(raw, path)
    return iter([_text_article(decode(raw, path), str(path), hashlib.sha256(raw).hexdigest())])


def check_binary(raw: bytes, path: Path, first_line: int = 1) -> None:
    if b"\0" in raw:
        offset = raw.index(b"\0")
        raise InputError("binary file (NUL byte)", path=str(path), line=first_line + raw.count(b"\n", 0, offset),
                         offset=offset - (raw.rfind(b"\n", 0, offset) + 1), hint="ingest text articles only")


def check_date(value: str, path: str, line: int | None) -> str:
    if not DATE.match(value):
        raise InputError(f"date {value!r} is not YYYY-MM-DD", path=path, line=line, value=value,
                         hint="write the date as e.g. 2021-11-09")
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"impossible date {value!r}", path=path, line=line, value=value,
                         hint="give a real calendar date") from None
    return value


def _text_article(text: str, path: str, sha: str, line: int = 1) -> Article:
    text, steps = normalize(text)
    date = None
    header = HEADER.match(text)
    if header:
        line += header.group(1).count("\n")
        date = check_date(header.group(2), path, line)
        text, steps = text[header.end():], steps + ["strip-date-header"]
    stripped = text.strip()
    if stripped != text:
        text, steps = stripped, steps + ["strip-outer-whitespace"]
    if not text:
        raise InputError("article has no text after its header", path=path, line=line)
    return Article(text=text, origin=Origin(path, sha, tuple(steps)), date=date)


def _jsonl_articles(path: Path, max_bytes: int, on_bad: Callable[[InputError], None] | None = None) -> Iterator[Article]:
    """The records of a JSONL file; a bad record raises, or (with ``on_bad``) is handed to it and skipped."""
    found = False
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                if len(raw) > max_bytes:
                    raise InputError(f"record is {len(raw)} bytes, over the limit of {max_bytes}", path=str(path),
                                     line=lineno, hint="raise --max-bytes")
                check_binary(raw, path, lineno)
                article = _jsonl_article(decode(raw, path, lineno), path, lineno, hashlib.sha256(raw).hexdigest())
            except InputError as exc:
                if on_bad is None:
                    raise
                on_bad(exc)
                found = True
                continue
            yield article
            found = True
    if not found:
        raise InputError("file is empty", path=str(path), hint="remove it or give it JSONL records")


def _jsonl_article(line: str, path: Path, lineno: int, sha: str) -> Article:
    try:
        rec = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg} (offset {exc.pos} of the line, in characters)", path=str(path),
                         line=lineno, offset=exc.pos, hint="fix the record (one JSON object per line)") from None
    if not isinstance(rec, dict) or not isinstance(rec.get("text"), str) or not rec["text"].strip():
        raise InputError("record needs a non-empty string 'text'", path=str(path), line=lineno,
                         hint='write {"text": "...", "date": "YYYY-MM-DD", "title": ..., "url": ..., "source": ...}')
    for key in ("date", "title", "url", "source"):
        if rec.get(key) is not None and not isinstance(rec[key], str):
            raise InputError(f"'{key}' must be a string", path=str(path), line=lineno, value=rec[key])
    for key in ("text", "date", "title", "url", "source"):
        if "\x00" in (rec.get(key) or ""):
            escape = NUL_ESCAPE.search(line)
            raise InputError(f"'{key}' holds a NUL character (a \\u0000 escape)", path=str(path), line=lineno,
                             offset=escape.end() - 6 if escape else None, value="\\u0000",
                             hint="remove the escape: NUL is not text, and no stored text may hold it")
    art = _text_article(rec["text"], f"{path}:{lineno}", sha, lineno)
    date = check_date(rec["date"], str(path), lineno) if rec.get("date") else art.date
    return replace(art, date=date, title=rec.get("title"), url=rec.get("url"), source=rec.get("source"))


def paragraphs(text: str) -> list[tuple[int, int]]:
    """Paragraph offsets: blocks separated by blank lines."""
    out, start = [], 0
    for m in PARAGRAPH_BREAK.finditer(text):
        if text[start:m.start()].strip():
            out.append((start, m.start()))
        start = m.end()
    if text[start:].strip():
        out.append((start, len(text.rstrip())))
    return out


def is_headline(line: str) -> bool:
    """Short, single-line, no final punctuation: 'Iraq launches probe into drone-attack on PM'."""
    words = line.split()
    return 0 < len(words) <= HEADLINE_MAX_WORDS and "\n" not in line and not line.rstrip().endswith(FINAL_PUNCTUATION)


def to_document(article: Article, sentences: list[tuple[int, int]], tokens: list[tuple[int, int]]) -> Document:
    paras = paragraphs(article.text)
    sections = tuple(p for p in paras if is_headline(article.text[p[0]:p[1]]))
    return Document(id=document_id(article.text), text=article.text, date=article.date, title=article.title,
                    url=article.url, source=article.source, origin=article.origin, sections=sections,
                    paragraphs=tuple(paras), sentences=tuple(sentences), tokens=tuple(tokens))


def read_articles(paths: Iterable[Path], max_bytes: int = DEFAULT_MAX_BYTES, skip_bad: bool = False,
                  report: IngestReport | None = None) -> Iterator[Article]:
    """Articles from every file in turn; a bad file raises, or with ``skip_bad`` is listed in the report.

    With ``skip_bad`` a JSONL file's bad records are skipped one by one (listed in the report); its good
    records are read.
    """
    for path in paths:
        try:
            if skip_bad and path.suffix.lower() in JSONL_SUFFIXES:
                yield from _jsonl_articles(path, max_bytes, on_bad=lambda exc: report.skipped.append(str(exc))
                                           if report is not None else None)
                continue
            if skip_bad:  # check the whole file first, so a bad file contributes nothing
                for _ in read_file(path, max_bytes):
                    pass
            yield from read_file(path, max_bytes)
        except InputError as exc:
            if not skip_bad:
                raise
            if report is not None:
                report.skipped.append(str(exc))


def segment_articles(articles: Iterable[Article], batch: int = 64) -> Iterator[Document]:
    """Documents with paragraph, section, sentence and token boundaries (headlines are their own sentence).

    Paragraphs of ``batch`` articles go through the segmenter together (one ``nlp.pipe`` stream).
    """
    arts = iter(articles)
    while chunk := list(itertools.islice(arts, batch)):
        paras = [paragraphs(a.text) for a in chunk]
        segmented = nlp.segment(a.text[s:e] for a, ps in zip(chunk, paras) for s, e in ps)
        for article, ps in zip(chunk, paras):
            sentences, tokens = [], []
            for (start, _), (sents, toks) in zip(ps, segmented):
                sentences += [(s + start, e + start) for s, e in sents]
                tokens += [(s + start, e + start) for s, e in toks]
            yield to_document(article, sentences, tokens)


def segment_documents(docs: Iterable[Document]) -> Iterator[Document]:
    """Bare documents (text and origin, e.g. an import's new ones) with boundaries, as ingest stores them."""
    return segment_articles(Article(text=d.text, origin=d.origin) for d in docs)


def new_documents(paths: Iterable[str | Path], known_ids: set[str], *, max_bytes: int = DEFAULT_MAX_BYTES,
                  skip_bad: bool = False, report: IngestReport,
                  progress: Callable[[int], None] | None = None) -> Iterator[Document]:
    """Segmented documents from ``paths`` whose ids are not in ``known_ids``; duplicates go to the report."""
    seen = set(known_ids)
    files = expand_paths(paths, ignored=report.ignored)
    for doc in segment_articles(_fresh(read_articles(files, max_bytes, skip_bad, report), seen, report, progress)):
        report.added.append(doc.id)
        yield doc


def _fresh(articles: Iterable[Article], seen: set[str], report: IngestReport,
           progress: Callable[[int], None] | None) -> Iterator[Article]:
    for art in articles:
        if progress:
            progress(1)
        doc_id = document_id(art.text)
        if doc_id in seen:
            report.duplicates.append((art.origin.path, doc_id))
            continue
        seen.add(doc_id)
        yield art
