"""CoNLL / IOB token-tag files: read into the model, write back out, and render a set as BIO tags.

Format read: one token per line, the tag in the LAST whitespace-separated column (other columns are
ignored), a blank line between sentences, a line whose first column is ``-DOCSTART-`` between
documents (a file without one is one document).  The document text is rebuilt by joining a
sentence's tokens with single spaces and sentences with ``\\n``; each token is NFC-normalized, and
its ``[start, end)`` offsets and the sentence offsets are stored with the document.

Tags: ``O``, ``B-X``, ``I-X`` (IOB2); an ``I-X`` that does not continue an ``X`` starts a new mention
(IOB1 / conlleval leniency); ``S-X``/``U-X`` and ``E-X``/``L-X`` (BIOES / BILOU) are read too.
"""

from __future__ import annotations

import bisect
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterable, Iterator

from .. import ingest
from ..errors import InputError
from ..model import AnnotationSet, Document, Origin, Span, document_id
from . import ImportOptions, Imported, ImportReport

DOCSTART = "-DOCSTART-"
SUFFIXES = (".conll", ".conllu", ".iob", ".iob2", ".bio", ".tsv", ".txt")
# prefix -> (opens a new mention even after the same type, closes the mention after this token)
PREFIXES = {"B": (True, False), "I": (False, False), "S": (True, True), "U": (True, True),
            "E": (False, True), "L": (False, True)}


@dataclass
class _Doc:
    line: int
    sentences: list[list[tuple[str, str, int]]] = field(default_factory=list)  # (token, tag, line)


def _documents(lines: Iterable[str], path: str) -> Iterator[_Doc]:
    doc, sentence = _Doc(1), []
    for no, raw in enumerate(lines, start=1):
        cols = raw.split()
        if not cols:
            if sentence:
                doc.sentences.append(sentence)
            sentence = []
            continue
        if cols[0] == DOCSTART:
            if sentence:
                doc.sentences.append(sentence)
            if doc.sentences:
                yield doc
            doc, sentence = _Doc(no), []
            continue
        if len(cols) < 2:
            raise InputError(f"line has one column {cols[0]!r}; need TOKEN ... TAG", path=path, line=no,
                             value=cols[0], hint="put the tag in the last column (O, B-PER, I-PER, ...)")
        sentence.append((cols[0], cols[-1], no))
    if sentence:
        doc.sentences.append(sentence)
    if doc.sentences:
        yield doc


def _tag(tag: str, path: str, line: int) -> tuple[str, str | None]:
    """(prefix, label) of a tag; ``('O', None)`` outside mentions."""
    if tag == "O":
        return "O", None
    prefix, sep, label = tag.partition("-")
    if not sep or prefix not in PREFIXES or not label:
        raise InputError(f"tag {tag!r} is not O or PREFIX-LABEL", path=path, line=line, value=tag,
                         allowed=["O", "B-X", "I-X", "S-X", "E-X"], hint="write IOB2 tags such as B-PER, I-PER, O")
    return prefix, label


def _mentions(tags: list[tuple[str, int]], path: str) -> Iterator[tuple[int, int, str, int]]:
    """(first token, last token + 1, label, line) of every mention in one sentence's tags."""
    current: list | None = None
    for i, (tag, line) in enumerate(tags):
        prefix, label = _tag(tag, path, line)
        if label is None or PREFIXES[prefix][0] or current is None or current[2] != label:
            if current is not None:
                yield tuple(current)
            current = None if label is None else [i, i + 1, label, line]
        else:
            current[1] = i + 1
        if current is not None and PREFIXES[prefix][1]:
            yield tuple(current)
            current = None
    if current is not None:
        yield tuple(current)


def _build(doc: _Doc, path: str, sha: str, options: ImportOptions, report: ImportReport | None) -> Imported:
    parts, tokens, sentences, mentions, steps = [], [], [], [], set()
    pos = 0
    for sentence in doc.sentences:
        offsets = []
        for token, _, _ in sentence:
            norm, changed = ingest.normalize(token)
            steps.update(changed)
            pos += 1 if offsets else 0
            offsets.append((pos, pos + len(norm)))
            parts.append(norm)
            pos += len(norm)
        tokens += offsets
        sentences.append((offsets[0][0], offsets[-1][1]))
        for first, last, label, line in _mentions([(tag, line) for _, tag, line in sentence], path):
            mentions.append((offsets[first][0], offsets[last - 1][1], label, line))
        pos += 1  # the newline between sentences
    text = "\n".join(" ".join(parts[a:b]) for a, b in _sentence_slices(doc))
    spans = [span for span in (_span(text, i + 1, m, path, options, report) for i, m in enumerate(mentions)) if span]
    aset = AnnotationSet(options.set_name, tuple(spans))
    document = Document(id=document_id(text), text=text, origin=Origin(f"{path}:{doc.line}", sha, tuple(sorted(steps))),
                        paragraphs=((0, len(text)),), sentences=tuple(sentences), tokens=tuple(tokens),
                        annotations={aset.name: aset})
    return Imported(document, f"{path}:{doc.line}", segmented=True)


def _sentence_slices(doc: _Doc) -> Iterator[tuple[int, int]]:
    start = 0
    for sentence in doc.sentences:
        yield start, start + len(sentence)
        start += len(sentence)


def _span(text: str, n: int, mention: tuple[int, int, str, int], path: str, options: ImportOptions,
          report: ImportReport | None) -> Span | None:
    start, end, label, line = mention
    try:
        mapped = options.label_map.span_label(label, options.schema)
    except KeyError:
        raise InputError(f"label {label!r} is neither in the label map nor in the schema", path=path, line=line,
                         value=label, allowed=options.schema.entity_names(),
                         hint="map it with --label-map (a null value drops it)") from None
    if mapped is None:
        if report is not None:
            report.dropped.append(f"{path}:{line}: label {label!r} is mapped to null")
        return None
    layer, label = mapped
    if label not in options.schema.span_labels(layer):
        raise InputError(f"label {label!r} (after mapping) is not a {layer} label of the schema", path=path, line=line,
                         value=label, allowed=options.schema.span_labels(layer), hint="fix the --label-map entry")
    return Span(f"T{n}", start, end, text[start:end], label, layer, options.provenance(f"{path}:{line}"))


def read_conll(path: str | Path, options: ImportOptions, report: ImportReport | None = None) -> Iterator[Imported]:
    """Every document of one CoNLL/IOB file, with its mentions as one annotation set."""
    path = Path(path)
    raw = path.read_bytes()
    text = ingest.decode(raw, path)
    sha = hashlib.sha256(raw).hexdigest()
    for doc in _documents(text.lstrip("\ufeff").splitlines(), str(path)):
        yield _build(doc, str(path), sha, options, report)


def conll_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files named directly, plus every CoNLL-like file below named folders."""
    return ingest.expand_paths(paths, SUFFIXES)


def read_paths(paths: Iterable[str | Path], options: ImportOptions,
               report: ImportReport | None = None) -> Iterator[Imported]:
    for path in conll_files(paths):
        yield from read_conll(path, options, report)


# --- BIO rendering and writing ------------------------------------------------------------------


def to_bio(doc: Document, set_name: str, layer: str = "entities") -> list[list[tuple[str, str]]]:
    """Per sentence, ``(token text, IOB2 tag)`` for the spans of one layer of one set.

    A token is tagged when it overlaps a span; the first such token gets ``B-``.  Where spans nest or
    overlap, the earlier (then longer) span wins and the other is left out - BIO cannot show both.
    Uses the document's stored tokens and sentences (one sentence when it has none).
    """
    tokens = list(doc.tokens)
    starts = [s for s, _ in tokens]
    tags = ["O"] * len(tokens)
    spans = sorted(doc.annotation_set(set_name).spans_of(layer), key=lambda s: (s.start, -s.end))
    for span in spans:
        first = max(bisect.bisect_right(starts, span.start) - 1, 0)
        hit = [i for i in range(first, bisect.bisect_left(starts, span.end)) if tokens[i][1] > span.start]
        if not hit or any(tags[i] != "O" for i in hit):
            continue
        tags[hit[0]] = f"B-{span.label}"
        for i in hit[1:]:
            tags[i] = f"I-{span.label}"
    sentences = list(doc.sentences) or [(0, len(doc.text))]
    out = []
    for s_start, s_end in sentences:
        lo, hi = bisect.bisect_left(starts, s_start), bisect.bisect_left(starts, s_end)
        if hi > lo:
            out.append([(doc.text[a:b], tags[i]) for i, (a, b) in zip(range(lo, hi), tokens[lo:hi])])
    return out


def write_conll(docs: Iterable[Document], set_name: str, fh: IO[str], layer: str = "entities") -> int:
    """Write documents as ``-DOCSTART-``-separated ``TOKEN<TAB>TAG`` sentences; returns the document count."""
    n = 0
    for doc in docs:
        fh.write(f"{DOCSTART}\tO\n\n")
        for sentence in to_bio(doc, set_name, layer):
            fh.writelines(f"{token}\t{tag}\n" for token, tag in sentence)
            fh.write("\n")
        n += 1
    return n
